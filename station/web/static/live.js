// The live page's script (served from /static: the CSP allows no inline script).
(function(){
var bar=document.getElementById('bar'),cells=[];
function el(id){return document.getElementById(id);}
function show(id,on){el(id).hidden=!on;}
function poll(){
  fetch('/api/live',{cache:'no-store'}).then(function(r){return r.json();}).then(function(s){
    var lv=(s.bar&&s.bar.levels)||[];
    while(cells.length<lv.length){var i=document.createElement('i');bar.appendChild(i);cells.push(i);}
    lv.forEach(function(v,i){cells[i].className=v>=0.5?'on':'';});
    // while the station cannot judge from this camera, the advice takes the depth number's place
    // a fault means no fresh frames: the last number would be stale, so it goes too
    var setup=!!s.setup_issue, fault=!!s.fault;
    show('depthbox',!setup&&!fault);show('advice',setup);
    el('advice').textContent=setup?(s.setup_advice||'Cannot judge from here: check the camera.'):'';
    // unsigned, with the side of parallel in words, as every other page writes a depth
    var d=s.thigh_deg==null?null:Math.round(s.thigh_deg);
    el('depth').textContent=d==null?'-':Math.abs(d)+'°';
    el('depthlabel').textContent='thigh angle · '+(d==null?'0° = parallel':d===0?'at parallel':d<0?'below parallel':'above parallel');
    // an issue that leaves the depth (the head out of the picture): a note beside it, not in its place
    show('note',!!s.setup_note&&!setup&&!fault);el('note').textContent=s.setup_note||'';
    show('fault',fault);el('fault').textContent=fault?('Camera or model problem: '+s.fault):'';
    show('phase',!setup&&!fault);
    el('phase').textContent=s.lifter_present?(s.calibrated?s.phase:'lifter in view'):(s.running===false?(s.source_ended?'the video (or demo) has ended':'station stopped'):'no lifter in view');
    var st=s.selftest;show('selftest',!!st);
    // during a self-test the big number is the test's rep (the one asked for), as the bar's label
    // says: the set's count beside "self-test rep 3" read as the current rep
    // the reps finished so far ("rep 0" read as a rep number during the first descent)
    // with the target in the station's own words (rounded once there, not again here)
    el('reps').textContent=st?('test rep '+st.rep+', to '+st.target_words):(s.set_active?(s.rep_count+(s.rep_count===1?' rep':' reps')+' done'):'');
    // the bar's label repeats the fault or the advice: shown only when it says something new
    var label=(s.bar&&s.bar.label)||'', pattern=s.bar&&s.bar.pattern;
    // the bar's idle label says what the phase line already says ("waiting for a lifter"), its rep
    // count what the reps line says
    // during a self-test the label starts with the test's rep and target ("self-test rep 2 to 17° above: "),
    // for the terminal bar; here the big line says the rep and the test's sentence the target
    if(st&&label.indexOf(': ')>=0&&label.indexOf('self-test')===0)label=label.slice(label.indexOf(': ')+2);
    el('label').textContent=(fault||setup||pattern==='rep'||(!s.lifter_present&&pattern==='idle'))?'':label;
    if(st)el('selftest-text').textContent=st.message;
  }).catch(function(){el('phase').textContent='station not reachable';}).then(function(){setTimeout(poll,document.hidden?3000:400);});
}
poll();
var img=el('preview');
if(img){(function refresh(){img.src='/api/preview.jpg?'+Date.now();setTimeout(refresh,1000);})();}
})();
