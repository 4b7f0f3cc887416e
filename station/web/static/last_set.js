// The last set page's script (served from /static: the CSP allows no inline script).
(function(){
// The Last set page follows the station: a new set, a new rep or a finished set reloads it,
// unless the lifter is in the middle of deleting a set.
var watch=document.getElementById('watch'), EVERY_MS=4000;
if(!watch)return;
var url='/api/sets?limit=1'+(watch.dataset.lifter?'&lifter='+encodeURIComponent(watch.dataset.lifter):'');
function check(){
  if(document.hidden){setTimeout(check,EVERY_MS);return;}
  fetch(url,{cache:'no-store'}).then(function(r){return r.json();}).then(function(d){
    var s=d.sets&&d.sets[0], key=s?(s.id+':'+s.rep_count+':'+(s.end_reason||'')):'';
    var del=document.getElementById('delete');
    if(key!==watch.dataset.key&&!(del&&del.open)){location.reload();return;}
    setTimeout(check,EVERY_MS);
  }).catch(function(){setTimeout(check,EVERY_MS);});
}
setTimeout(check,EVERY_MS);
})();
