// Every page: Unix times in <time data-ts> shown in the phone's own time zone and language.
// data-style="weekday" (Last set: 'Tue 18:05'), else the date ('3 Mar, 18:05').
document.addEventListener('DOMContentLoaded', function(){
  document.querySelectorAll('time[data-ts]').forEach(function(t){
    var opts=t.dataset.style==='weekday'?{weekday:'short',hour:'2-digit',minute:'2-digit'}:{month:'short',day:'numeric',hour:'2-digit',minute:'2-digit'};
    t.textContent=new Date(t.dataset.ts*1000).toLocaleString([], opts);
  });
});
