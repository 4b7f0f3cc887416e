// Every page: Unix times in <time data-ts> shown in the phone's own time zone and language.
// data-style="weekday" (Last set: 'Tue 18:05'), else the date ('3 Mar, 18:05').
document.addEventListener('DOMContentLoaded', function(){
  document.querySelectorAll('time[data-ts]').forEach(function(t){
    var opts=t.dataset.style==='weekday'?{weekday:'short',hour:'2-digit',minute:'2-digit'}:{month:'short',day:'numeric',hour:'2-digit',minute:'2-digit'};
    t.textContent=new Date(t.dataset.ts*1000).toLocaleString([], opts);
  });
});
// A gym without internet has no network time: after a power cut a Pi's clock resumes from when it was
// last saved. The phone's clock is right, so the page says when the two differ by more than 5 minutes.
document.addEventListener('DOMContentLoaded', function(){
  var asked=Date.now();
  fetch('/api/health',{cache:'no-store'}).then(function(r){return r.json();}).then(function(d){
    if(typeof d.now!=='number')return;
    var off=d.now-(asked+Date.now())/2000, gap=Math.abs(off);
    if(gap<=300||document.getElementById('clock-alert'))return;
    var mins=Math.round(gap/60), h=Math.floor(mins/60), m=mins%60, span=(h?h+' h ':'')+m+' min';
    if(h>=48)span=Math.round(gap/86400)+' days';
    var p=document.createElement('p');
    p.className='alert wrap'; p.id='clock-alert';
    p.textContent="The station's clock is "+span.trim()+' '+(off<0?'behind':'ahead of')+" this phone's, so sets "+
      "recorded since may be dated wrong. The owner can set it: station doctor says how.";
    var main=document.querySelector('main'); if(main)main.insertBefore(p, main.firstChild);
  }).catch(function(){});
});
