// The rep page's replay (served from /static: the CSP allows no inline script).
(function(){
// Side-on replay: the skeleton where it stood in the camera frame (same scale in x and y, the whole
// rep's extent centred), the deepest frame as a grey ghost behind it, parallel as a dashed line through the knee, the
// lower back drawn red from where the rounding began until it was back above that depth.
var data=document.getElementById('replay-data');
if(!data)return;  // no per-frame series stored for this rep
var d=JSON.parse(data.textContent), svg=document.getElementById('replay'), ns='http://www.w3.org/2000/svg';
// the marks sit under the scrub bar at their frame (CSSOM, allowed by the CSP, unlike style attributes)
document.querySelectorAll('.mark[data-at]').forEach(function(m){m.style.setProperty('--at',m.dataset.at);});
var J={ear:0,shoulder:1,hip:2,knee:3,ankle:4,wrist:5}, N=d.t.length;
var x0=1e9,x1=-1e9,y0=1e9,y1=-1e9;
d.joints.forEach(function(f){f.forEach(function(p){x0=Math.min(x0,p[0]);x1=Math.max(x1,p[0]);y0=Math.min(y0,p[1]);y1=Math.max(y1,p[1]);});});
var side=Math.max(x1-x0,y1-y0,1)*1.25, cx=(x0+x1)/2, cy=(y0+y1)/2, u=side/100;
svg.setAttribute('viewBox',[(cx-side/2).toFixed(1),(cy-side/2).toFixed(1),side.toFixed(1),side.toFixed(1)].join(' '));
var into=svg;
function mk(tag,attrs){var e=document.createElementNS(ns,tag);for(var k in attrs)e.setAttribute(k,attrs[k]);into.appendChild(e);return e;}
function pts(f,names){return names.map(function(n){var p=f[J[n]];return p[0].toFixed(1)+','+p[1].toFixed(1);}).join(' ');}
var floorY=Math.max.apply(null,d.joints.map(function(f){return f[J.ankle][1];}))+2*u;
mk('line',{x1:cx-side/2,x2:cx+side/2,y1:floorY,y2:floorY,stroke:'#3a3f47','stroke-width':u});
var line={fill:'none','stroke-linecap':'round','stroke-linejoin':'round'};
function limb(colour,w,extra){var a={stroke:colour,'stroke-width':w*u};for(var k in line)a[k]=line[k];for(k in extra||{})a[k]=extra[k];return mk('polyline',a);}
if(d.bottom!=null){var g=d.joints[d.bottom];
  limb('#4a525d',3,{points:pts(g,['ear','shoulder','hip','knee','ankle'])});
  mk('circle',{cx:g[J.hip][0],cy:g[J.hip][1],r:1.6*u,fill:'#4a525d'});}
var level=mk('line',{'class':'parallel-line',stroke:'#aab2bd','stroke-width':0.6*u,'stroke-dasharray':(2*u)+' '+(1.5*u)});
into=mk('g',{id:'lifter'});  // the lifter in the current frame
var head=mk('circle',{fill:'none',stroke:'#f2f4f7','stroke-width':1.5*u});
var back=limb('#f2f4f7',3.5), thigh=limb('#ffd23f',4), shin=limb('#f2f4f7',3.5), neck=limb('#f2f4f7',2.5), arm=limb('#6ec1ff',2.5);
var hipDot=mk('circle',{r:2*u,fill:'#ffd23f'}), kneeDot=mk('circle',{r:1.6*u,fill:'#f2f4f7'});
var scrub=document.getElementById('scrub'), readout=document.getElementById('readout');
// a frame's angle is a measurement, not the rep's verdict (whose "at parallel" is a band of +-3 deg or
// more): "parallel" only when it rounds to 0, as the tables write numbers
function deg(v){var n=Math.round(Math.abs(v));return n===0?'parallel':n+'° '+(v<0?'below':'above')+' parallel';}
function draw(i){
  var f=d.joints[i], e=f[J.ear], s=f[J.shoulder], h=f[J.hip], k=f[J.knee];
  var rounding=d.onset!=null&&i>=d.onset&&i<=d.onset_end;
  back.setAttribute('points',pts(f,['shoulder','hip']));back.setAttribute('stroke',rounding?'#ff5d5d':'#f2f4f7');
  thigh.setAttribute('points',pts(f,['hip','knee']));shin.setAttribute('points',pts(f,['knee','ankle']));
  neck.setAttribute('points',pts(f,['ear','shoulder']));arm.setAttribute('points',pts(f,['shoulder','wrist']));
  var r=Math.max(3*u,0.45*Math.hypot(e[0]-s[0],e[1]-s[1]));
  head.setAttribute('cx',e[0]);head.setAttribute('cy',e[1]);head.setAttribute('r',r);
  hipDot.setAttribute('cx',h[0]);hipDot.setAttribute('cy',h[1]);kneeDot.setAttribute('cx',k[0]);kneeDot.setAttribute('cy',k[1]);
  var reach=Math.hypot(h[0]-k[0],h[1]-k[1])*1.3;
  // parallel as the page's depth means it: the hip point sits above the joint, so the line rises towards the hip
  var rise=Math.tan(d.parallel_line_deg*Math.PI/180)*(h[0]>=k[0]?1:-1);
  level.setAttribute('x1',k[0]-reach);level.setAttribute('x2',k[0]+reach);
  level.setAttribute('y1',k[1]+reach*rise);level.setAttribute('y2',k[1]-reach*rise);
  var text=d.t[i].toFixed(2)+' s';
  // at the marked frames, the page's numbers (the held depth, the onset), not that frame's reading
  var v=!d.thigh?null:i===d.bottom&&d.depth_deg!=null?d.depth_deg:i===d.onset&&d.onset_deg!=null?d.onset_deg:d.thigh[i];
  if(v!=null)text+=' · thigh '+deg(v);
  if(i===d.bottom)text+=' · deepest';
  if(rounding)text+=' · lower back rounding';
  readout.textContent=text;
  scrub.value=i;
}
scrub.addEventListener('input',function(){stop();draw(+scrub.value);});
var raf=null;
function stop(){if(raf){cancelAnimationFrame(raf);raf=null;}}
document.getElementById('play').onclick=function(){
  stop();var from=+scrub.value>=N-1?0:+scrub.value, t0=d.t[from], start=performance.now();
  function step(now){var t=t0+(now-start)/1000,i=from;while(i<N-1&&d.t[i+1]<=t)i++;draw(i);raf=i<N-1?requestAnimationFrame(step):null;}
  raf=requestAnimationFrame(step);
};
[['to-deepest',d.bottom],['to-onset',d.onset]].forEach(function(b){var e=document.getElementById(b[0]);if(e)e.onclick=function(){stop();draw(b[1]);};});
// standing, with the deepest frame as a ghost: the whole rep at a glance (the first frame whose legs
// are whole: the lead-in's first can carry a wrong ankle)
draw(d.start||0);
})();
