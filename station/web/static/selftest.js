// The selftest page's script (served from /static: the CSP allows no inline script).
(function(){
// the running test's status, live; when it ends (or one starts from elsewhere) the page reloads with the result
var box=document.getElementById('selftest-data'), running=box.dataset.running==='true', lifter=box.dataset.lifter;
function el(id){return document.getElementById(id);}
function deg(v){if(v==null)return '-';return Math.abs(v)<0.5?'parallel':Math.round(Math.abs(v))+'° '+(v<0?'below':'above');}
// a rep's depth as its set's table words it: inside the parallel band "at parallel", the exact side under it
function repDepth(r){var exact=deg(r.depth_deg);return r.verdict==='parallel'&&exact!=='parallel'?['at parallel',exact]:[exact,''];}
function cell(text,cls,small){var td=document.createElement('td');if(cls)td.className=cls;td.textContent=text;
  if(small){var s=document.createElement('small');s.textContent=small;td.appendChild(s);}return td;}
function poll(){
  fetch('/api/selftest?lifter='+encodeURIComponent(lifter),{cache:'no-store'}).then(function(r){return r.json();}).then(function(d){
    var s=d.status||{};
    if(!!s.running!==running){setTimeout(function(){location.reload();},running?700:0);running=!!s.running;return;}
    if(!running)return;
    el('st-rep').textContent=s.rep;el('st-target').textContent=s.target_words;el('st-lifter').textContent='for '+s.lifter;
    el('st-message').textContent=s.starting?'Starting: waiting for the camera\u2019s next frame\u2026':s.message;
    var body=el('st-reps').tBodies[0];body.textContent='';
    (s.reps||[]).forEach(function(r){var tr=document.createElement('tr');
      tr.appendChild(cell(r.number));tr.appendChild(cell(deg(r.target_deg)));
      if(r.judged){var d=repDepth(r);tr.appendChild(cell(d[0],'',d[1]));tr.appendChild(cell(r.wink?'yes':'none seen',r.wink?'no':'yes',r.wink&&r.onset_deg!=null?deg(r.onset_deg):''));}
      else{var u=r.depth_deg==null?['-','']:repDepth(r);tr.appendChild(cell(u[0],'dim',u[1]));tr.appendChild(cell('not judged','dim nowrap',r.reason||''));}
      body.appendChild(tr);});
  }).catch(function(){}).then(function(){setTimeout(poll,document.hidden?3000:(running?600:2500));});
}
poll();
})();
