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
input{font:inherit;padding:.3em}#q{width:32em}
table{border-collapse:collapse;margin-top:1em;width:100%}td,th{border-bottom:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
tr.request td{background:#f4f8ff}tr.report td{background:#fff8e0}tr.match td{font-weight:bold}.err{color:#b00}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em}
</style></head><body>
<div id="banner"></div>
<h1>What happened to this client?</h1>
<form id="f"><input id="q" placeholder="report id, IP, trace id, X-Reqid or install id" autofocus>
<button>Search</button> <input id="tok" type="password" placeholder="admin token (if set)" size="18"></form>
<div id="out"></div>
<h2>Problems (24 h)</h2><div id="problems"></div>
<script>
const $=s=>document.querySelector(s);
const esc=s=>String(s??'').replace(/[&<>"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
$('#tok').value=localStorage.getItem('tt_admin')||'';
async function api(p){const t=$('#tok').value;localStorage.setItem('tt_admin',t);
  const r=await fetch(p,{headers:t?{Authorization:'Bearer '+t}:{}});return {status:r.status,body:await r.json().catch(()=>null)};}
async function search(q){
  history.replaceState(null,'','?q='+encodeURIComponent(q));
  const r=await api('/api/lookup?q='+encodeURIComponent(q));
  if(r.status!==200){$('#out').innerHTML='<p class="err">'+esc(r.body&&r.body.error||(r.status===404?'nothing matches '+q:'HTTP '+r.status))+'</p>';return;}
  const j=r.body;let h='<p>Matched as <b>'+esc(j.kind)+'</b>: '+j.clients.map(c=>esc(c.app+' '+c.app_version+' ('+c.install_id+') IPs '+c.ips.join(', '))).join('; ')+'</p>';
  for(const c of j.clients)for(const id of c.reports){const d=await api('/api/reports/'+id);if(d.status!==200)continue;const x=d.body;
    h+='<h3>Report '+esc(id)+'</h3><p>'+esc(x.received_at)+' from '+esc(x.client_ip)+': <b>'+esc(x.diagnosis.summary)+'</b></p><p>Suggested answer: <i>'+esc(x.diagnosis.suggested_answer)+'</i></p>'
      +'<p>'+x.attachments.map(a=>'<a href="'+esc(a.url)+'">'+esc(a.name)+'</a>').join(' ')+' <a href="'+esc(x.logs.url)+'">logs</a></p>';}
  h+='<table><tr><th>time</th><th>what</th><th>details</th></tr>';
  for(const e of j.timeline){let w,d;
    if(e.kind==='log'){w='log '+e.severity_number;d=esc(e.message)+(e.trace_id?' <small>trace '+esc(e.trace_id)+'</small>':'');}
    else if(e.kind==='request'){w='request';d=esc(e.method+' '+e.host+e.path+' → '+(e.status||'no answer')+' '+(e.error||''))+' <small>trace '+esc(e.trace_id)+' '+esc(JSON.stringify(e.server_ids))+'</small>';}
    else{w='report';d='<a href="?q='+esc(e.report_id)+'">'+esc(e.report_id)+'</a> '+esc(e.description)+' — '+esc(e.diagnosis);}
    h+='<tr class="'+e.kind+(e.match?' match':'')+'"><td>'+esc(e.time)+'</td><td>'+w+'</td><td>'+d+'</td></tr>';}
  $('#out').innerHTML=h+'</table>';}
async function side(){
  const s=await fetch('/v1/status').then(r=>r.json()).catch(()=>null);
  if(s&&s.notice){$('#banner').style.display='block';$('#banner').textContent='Incident: '+(s.incident?s.incident.title+' — ':'')+s.notice;}
  const p=await api('/api/problems?window=24h');
  if(p.status===200)$('#problems').innerHTML='<table><tr><th>clients</th><th>events</th><th>trend</th><th>problem</th></tr>'+p.body.map(x=>'<tr><td>'+x.clients+'</td><td>'+x.events+'</td><td>'+esc(x.trend)+'</td><td>'+esc(x.sample)+'</td></tr>').join('')+'</table>';}
$('#f').onsubmit=e=>{e.preventDefault();search($('#q').value.trim());};
const q0=new URLSearchParams(location.search).get('q');if(q0){$('#q').value=q0;search(q0);}
side();
</script></body></html>
)HTML";
}

}  // namespace tsb
