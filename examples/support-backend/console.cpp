// The web console: one plain HTML page (no build step) over the JSON API. Paste a report
// id, IP or request id; see the client's timeline, the report's diagnosis, the problems
// list and the incident banner. The admin token, if any, stays in the browser's storage.
#include "console.hpp"

namespace tsb {

const char *console_html() {
    return R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>telltale support console</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
#banner{display:none;background:#fde2e1;border:1px solid #e0a0a0;padding:.6em;margin-bottom:1em}
input{font:inherit;padding:.3em}#q{width:32em}#busy{color:#666}
table{border-collapse:collapse;margin-top:1em;width:100%}td,th{border-bottom:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
tr.request td{background:#f4f8ff}tr.report td{background:#fff8e0}tr.match td{font-weight:bold}.err{color:#b00}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em}
</style></head><body>
<div id="banner"></div>
<h1>What happened to this client?</h1>
<form id="f"><input id="q" placeholder="report id, IP, trace id, X-Reqid or install id" autofocus>
<button>Search</button> <input id="tok" type="password" placeholder="admin token (if set)" size="18"> <span id="busy" hidden>searching…</span></form>
<p id="note" class="err" hidden></p>
<div id="out"></div>
<h2>Problems (24 h)</h2><div id="problems"></div>
<script>
const $=s=>document.querySelector(s);
const esc=s=>String(s??'').replace(/[&<>"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const or=(v,none)=>v===undefined||v===null||v===''?none:v;
const note=m=>{$('#note').textContent=m;$('#note').hidden=!m;};
const unreachable=e=>'could not reach the backend: '+(e&&e.message||e);
$('#tok').value=localStorage.getItem('tt_admin')||'';
function auth(){const t=$('#tok').value;localStorage.setItem('tt_admin',t);return t?{Authorization:'Bearer '+t}:{};}
async function api(p){const r=await fetch(p,{headers:auth()});return {status:r.status,body:await r.json().catch(()=>null)};}
// A report known only from its manifest may lack any of these.
const client=c=>esc(or(c.app,'unknown app')+' '+or(c.app_version,'unknown version')+' ('+or(c.install_id,'unknown install id')+') IPs '+or((c.ips||[]).join(', '),'none'));
// Links carry the file name; the click handler below fetches them with the token.
const file=(url,name,label)=>'<a href="'+esc(url)+'" data-name="'+esc(name)+'">'+esc(label)+'</a>';
function report(x){
  const base='/api/reports/'+encodeURIComponent(x.report_id);
  const files=x.attachments.map(a=>file(base+'/attachments/'+encodeURIComponent(a.name),a.name,a.name));  // names may hold # ? %
  files.push(x.logs&&x.logs.bytes_compressed?file(base+'/logs',x.report_id+'-logs.ndjson','logs'):'no logs');
  const d=x.diagnosis||{};
  return '<h3>Report '+esc(x.report_id)+'</h3><p>'+esc(x.received_at)+' from '+esc(x.client_ip)+': <b>'+esc(d.summary)+'</b></p><p>Suggested answer: <i>'+esc(d.suggested_answer)+'</i></p><p>'+files.join(' ')+'</p>';}
function row(e){let w,d;
  if(e.kind==='log'){w='log '+esc(e.severity_number);d=esc(e.message)+(e.trace_id?' <small>trace '+esc(e.trace_id)+'</small>':'');}
  else if(e.kind==='request'){w='request';d=esc(e.method+' '+e.host+e.path+' → '+(e.status||'no answer')+' '+(e.error||''))+' <small>trace '+esc(e.trace_id)+' '+esc(JSON.stringify(e.server_ids))+'</small>';}
  else{w='report';d='<a href="?q='+esc(encodeURIComponent(e.report_id))+'">'+esc(e.report_id)+'</a> '+esc(e.description)+' — '+esc(e.diagnosis);}
  return '<tr class="'+esc(e.kind)+(e.match?' match':'')+'"><td>'+esc(e.time)+'</td><td>'+w+'</td><td>'+d+'</td></tr>';}
// The HTML for one search, or null once a later search has started (it renders instead).
async function lookup(q,stale){
  const r=await api('/api/lookup?q='+encodeURIComponent(q));
  if(stale())return null;
  if(r.status===401)return '<p class="err">the admin token is missing or wrong: enter it next to Search</p>';
  if(r.status!==200)return '<p class="err">'+esc(r.status===404?'nothing matches '+q:(r.body&&r.body.error||'HTTP '+r.status))+'</p>';
  const j=r.body;let h='<p>Matched as <b>'+esc(j.kind)+'</b>: '+j.clients.map(client).join('; ')+'</p>';
  for(const c of j.clients)for(const id of c.reports||[]){const d=await api('/api/reports/'+encodeURIComponent(id));
    if(stale())return null;
    if(d.status===200)h+=report(d.body);}
  return h+'<table><tr><th>time</th><th>what</th><th>details</th></tr>'+j.timeline.map(row).join('')+'</table>';}
let searches=0;  // only the latest search may render: a slow earlier one must not replace it
async function search(q){
  const me=++searches,stale=()=>me!==searches;
  history.replaceState(null,'','?q='+encodeURIComponent(q));
  note('');$('#busy').hidden=false;
  let h;
  try{h=await lookup(q,stale);}catch(e){h='<p class="err">'+esc(unreachable(e))+'</p>';}
  if(stale())return;
  $('#out').innerHTML=h;$('#busy').hidden=true;
  problems();}
let loads=0;  // the token may change while a load runs: the latest load wins
async function problems(){
  const me=++loads;let h;
  try{const p=await api('/api/problems?window=24h');
    h=p.status===401?'<p>enter the admin token to see the problems list</p>'
     :p.status!==200?'<p class="err">'+esc(p.body&&p.body.error||'HTTP '+p.status)+'</p>'
     :!p.body.length?'<p>no problems in the last 24 h</p>'
     :'<table><tr><th>clients</th><th>events</th><th>trend</th><th>problem</th></tr>'+p.body.map(x=>'<tr><td>'+esc(x.clients)+'</td><td>'+esc(x.events)+'</td><td>'+esc(x.trend)+'</td><td>'+esc(x.sample)+'</td></tr>').join('')+'</table>';
  }catch(e){h='<p class="err">'+esc(unreachable(e))+'</p>';}
  if(me===loads)$('#problems').innerHTML=h;}
// A plain link would go without the Authorization header (401): fetch with it, save a Blob.
$('#out').addEventListener('click',async e=>{
  const a=e.target.closest('a[data-name]');if(!a)return;
  e.preventDefault();note('');
  try{const r=await fetch(a.getAttribute('href'),{headers:auth()});
    if(!r.ok){const b=await r.json().catch(()=>null);return note('cannot download '+a.dataset.name+': '+(b&&b.error||'HTTP '+r.status));}
    const u=URL.createObjectURL(await r.blob()),l=document.createElement('a');
    l.href=u;l.download=a.dataset.name;document.body.append(l);l.click();l.remove();
    setTimeout(()=>URL.revokeObjectURL(u),60000);
  }catch(err){note(unreachable(err));}});
async function banner(){
  const s=await fetch('/v1/status').then(r=>r.json()).catch(()=>null);
  if(s&&s.notice){$('#banner').style.display='block';$('#banner').textContent='Incident: '+(s.incident?s.incident.title+' — ':'')+s.notice;}}
$('#tok').onchange=()=>problems();
$('#f').onsubmit=e=>{e.preventDefault();const q=$('#q').value.trim();if(q)search(q);else problems();};
const q0=new URLSearchParams(location.search).get('q');
if(q0){$('#q').value=q0;search(q0);}else problems();
banner();
</script></body></html>
)HTML";
}

}  // namespace tsb
