// vidseg annotate: the page. Plain JS, no build step; talks to the JSON API (docs/annotate-api.md).
"use strict";

const token = new URLSearchParams(location.search).get("token");
const $ = (id) => document.getElementById(id);
const view = $("frame-view"), ctx = view.getContext("2d");
const S = {
  state: null, frame: 0, count: 0, width: 0, height: 0, object: null, version: -1,
  zoom: 1, panX: 0, panY: 0, img: null, overlay: null, playing: false, drag: null, busy: 0,
};

function withToken(url) {
  if (!token) return url;
  return url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);
}

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (token) opts.headers["X-Vidseg-Token"] = token;
  if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  S.busy++;
  try {
    const r = await fetch(path, opts);
    const data = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
    if (!r.ok) throw new Error(data.error || `HTTP ${r.status}`);
    return data;
  } finally { S.busy--; }
}

function say(text, ok) { const m = $("message"); m.textContent = text || ""; m.className = "message" + (ok ? " ok" : ""); }
async function run(fn) { try { say(""); return await fn(); } catch (e) { say(e.message); } }

// -- state ---------------------------------------------------------------------------------------
function applyState(s) {
  if (!s) return;
  if (s.state) s = s.state;
  S.state = s;
  const changed = s.version !== S.version;
  S.version = s.version;
  renderObjects(s.objects);
  renderJob(s.job);
  renderTimeline(s.timeline);
  $("undo").disabled = !s.can_undo; $("redo").disabled = !s.can_redo;
  if (changed) loadOverlay();
}

function renderJob(job) {
  const st = $("status");
  if (!job || job.state === "idle") {
    st.textContent = "idle" + (job && job.message ? " · " + job.message : "");
    st.className = "status";
    if (job && job.error) say(job.error);
  } else {
    const pct = job.total ? Math.round(100 * job.done / job.total) : 0;
    st.textContent = `${job.state} ${job.done}/${job.total} (${pct}%)` + (job.fps ? ` · ${job.fps.toFixed(1)} fps` : "");
    st.className = "status running";
  }
  $("cancel").disabled = !job || job.state === "idle";
  $("propagate").disabled = !!job && job.state !== "idle";
}

function renderObjects(objs) {
  const ul = $("objects");
  if (S.object === null && objs.length) S.object = objs[0].id;
  if (S.object !== null && !objs.some((o) => o.id === S.object)) S.object = objs.length ? objs[0].id : null;
  const key = JSON.stringify(objs) + S.object;
  if (ul.dataset.key === key) return;
  ul.dataset.key = key;
  ul.innerHTML = "";
  objs.forEach((o, k) => {
    const li = document.createElement("li");
    li.className = o.id === S.object ? "current" : "";
    li.dataset.id = o.id;
    li.innerHTML = `<span class="key">${k < 9 ? k + 1 : ""}</span><input type="color"><input type="text"><button title="Delete">✕</button>`;
    const [color, name, del] = [li.children[1], li.children[2], li.children[3]];
    color.value = o.color; name.value = o.name;
    li.addEventListener("click", () => { S.object = o.id; renderObjects(S.state.objects); });
    color.addEventListener("change", () => run(async () => applyState(await api("PATCH", `/api/objects/${o.id}`, { color: color.value }))));
    name.addEventListener("change", () => run(async () => applyState(await api("PATCH", `/api/objects/${o.id}`, { name: name.value }))));
    del.addEventListener("click", (e) => {
      e.stopPropagation();
      if (confirm(`Delete ${o.name} from every frame?`)) run(async () => applyState(await api("DELETE", `/api/objects/${o.id}`)));
    });
    ul.appendChild(li);
  });
}

function renderTimeline(tl) {
  const c = $("timeline"), w = c.clientWidth || 600;
  c.width = w;
  const g = c.getContext("2d");
  g.fillStyle = "#333"; g.fillRect(0, 0, w, c.height);
  if (!S.count) return;
  const x = (i) => Math.floor(i * w / S.count), bw = Math.max(1, Math.ceil(w / S.count));
  const paint = (list, colour, y, h) => { g.fillStyle = colour; for (const i of list) g.fillRect(x(i), y, bw, h); };
  paint(tl.propagated, "#3f7fbf", 0, c.height);
  paint(tl.user, "#3fbf5a", 0, c.height);
  paint(tl.lost, "#d9463b", c.height - 4, 4);
  g.fillStyle = "#fff"; g.fillRect(x(S.frame), 0, Math.max(2, bw), c.height);
  const st = tl.user.includes(S.frame) ? "set by you" : tl.propagated.includes(S.frame) ? "propagated" : "no mask";
  $("frame-status").textContent = st + (tl.lost.includes(S.frame) ? " · object lost" : "");
}

// -- frames ---------------------------------------------------------------------------------------
function loadImage(url) {
  return new Promise((resolve, reject) => {
    const im = new Image();
    im.onload = () => resolve(im);
    im.onerror = () => reject(new Error("cannot load " + url));
    im.src = withToken(url);
  });
}

let seekSerial = 0;
async function seek(i) {
  i = Math.max(0, Math.min(S.count - 1, i | 0));
  S.frame = i;
  $("frame-slider").value = i;
  $("frame-index").textContent = String(i);
  const serial = ++seekSerial;
  try {
    const [img, ov] = await Promise.all([loadImage(`/api/frames/${i}/image.jpg`),
      loadImage(`/api/frames/${i}/overlay.png?v=${S.version}`)]);
    if (serial !== seekSerial) return;
    S.img = img; S.overlay = ov;
    draw();
  } catch (e) { say(e.message); }
  if (S.state) renderTimeline(S.state.timeline);
}

async function loadOverlay() {
  const i = S.frame, serial = seekSerial;
  try {
    const ov = await loadImage(`/api/frames/${i}/overlay.png?v=${S.version}`);
    if (serial === seekSerial && i === S.frame) { S.overlay = ov; draw(); }
  } catch (e) { say(e.message); }
}

function draw() {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = "#000"; ctx.fillRect(0, 0, view.width, view.height);
  ctx.setTransform(S.zoom, 0, 0, S.zoom, S.panX, S.panY);
  if (S.img) ctx.drawImage(S.img, 0, 0);
  if (S.overlay) ctx.drawImage(S.overlay, 0, 0);
  if (S.drag && S.drag.kind === "box" && S.drag.to) {
    const [a, b] = [S.drag.from, S.drag.to];
    ctx.strokeStyle = "#ffeb3b"; ctx.lineWidth = 2 / S.zoom;
    ctx.strokeRect(Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]));
  }
  if (S.drag && (S.drag.kind === "brush" || S.drag.kind === "eraser")) {
    ctx.strokeStyle = S.drag.kind === "brush" ? "rgba(255,255,255,0.8)" : "rgba(0,0,0,0.8)";
    ctx.lineWidth = 2 * radius(); ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.beginPath(); S.drag.points.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y))); ctx.stroke();
  }
}

// the canvas fills the stage, the frame's aspect kept (CSS size only: it maps back in framePoint)
function fit() {
  const st = $("stage"), k = Math.min(st.clientWidth / S.width, st.clientHeight / S.height);
  if (!isFinite(k) || k <= 0) return;
  view.style.width = Math.floor(S.width * k) + "px"; view.style.height = Math.floor(S.height * k) + "px";
  if (S.state) renderTimeline(S.state.timeline);
}
window.addEventListener("resize", fit);

// the frame pixel under a mouse event: the canvas's CSS scale, then zoom and pan
function framePoint(e) {
  const r = view.getBoundingClientRect();
  const cx = (e.clientX - r.left) * view.width / r.width, cy = (e.clientY - r.top) * view.height / r.height;
  return [(cx - S.panX) / S.zoom, (cy - S.panY) / S.zoom];
}
const inside = ([x, y]) => x >= 0 && y >= 0 && x < S.width && y < S.height;
const tool = () => document.querySelector("input[name=tool]:checked").value;
const radius = () => Number($("radius").value);

// -- editing --------------------------------------------------------------------------------------
async function ensureObject() {
  if (S.object !== null) return S.object;
  const r = await api("POST", "/api/objects", {});
  S.object = r.object.id; applyState(r.state);
  return S.object;
}

view.addEventListener("contextmenu", (e) => e.preventDefault());
view.addEventListener("mousedown", (e) => {
  const p = framePoint(e);
  if (e.button === 2 || e.button === 1 || e.ctrlKey) { S.drag = { kind: "pan", x: e.clientX, y: e.clientY, px: S.panX, py: S.panY }; return; }
  if (e.button !== 0 || !inside(p)) return;
  const t = tool();
  if (t === "click") S.drag = { kind: "click", from: p, shift: e.shiftKey };
  else if (t === "box") S.drag = { kind: "box", from: p, to: null };
  else S.drag = { kind: t, points: [p] };
});
window.addEventListener("mousemove", (e) => {
  const d = S.drag;
  if (!d) return;
  if (d.kind === "pan") {
    const r = view.getBoundingClientRect(), k = view.width / r.width;
    S.panX = d.px + (e.clientX - d.x) * k; S.panY = d.py + (e.clientY - d.y) * k; draw();
  } else if (d.kind === "box") { d.to = framePoint(e); draw(); }
  else if (d.kind === "brush" || d.kind === "eraser") { d.points.push(framePoint(e)); draw(); }
});
window.addEventListener("mouseup", (e) => {
  const d = S.drag;
  S.drag = null;
  if (!d || d.kind === "pan") return;
  const i = S.frame;
  run(async () => {
    const obj = await ensureObject();
    if (d.kind === "click") {
      const [x, y] = d.from;
      applyState(await api("POST", `/api/frames/${i}/click`, { object: obj, x, y, positive: !d.shift }));
    } else if (d.kind === "box") {
      const b = d.to || d.from, box = [Math.min(d.from[0], b[0]), Math.min(d.from[1], b[1]), Math.max(d.from[0], b[0]), Math.max(d.from[1], b[1])];
      if (box[2] - box[0] < 3 || box[3] - box[1] < 3) { draw(); return; }
      applyState(await api("POST", `/api/frames/${i}/box`, { object: obj, box }));
    } else {
      const pts = d.points.map(([x, y]) => [Math.max(0, Math.min(S.width - 1, x)), Math.max(0, Math.min(S.height - 1, y))]);
      applyState(await api("POST", `/api/frames/${i}/stroke`, { object: obj, points: pts, radius: radius() / S.zoom, erase: d.kind === "eraser" }));
    }
  });
});
view.addEventListener("wheel", (e) => {
  e.preventDefault();
  const r = view.getBoundingClientRect();
  const cx = (e.clientX - r.left) * view.width / r.width, cy = (e.clientY - r.top) * view.height / r.height;
  const z = Math.max(1, Math.min(16, S.zoom * (e.deltaY < 0 ? 1.2 : 1 / 1.2)));
  S.panX = cx - (cx - S.panX) * z / S.zoom; S.panY = cy - (cy - S.panY) * z / S.zoom; S.zoom = z;
  if (z === 1) { S.panX = 0; S.panY = 0; }
  draw();
}, { passive: false });

// -- buttons and keys -----------------------------------------------------------------------------
$("object-new").addEventListener("click", () => run(async () => {
  const r = await api("POST", "/api/objects", {});
  S.object = r.object.id; applyState(r.state);
}));
$("undo").addEventListener("click", () => run(async () => { const r = await api("POST", "/api/undo"); say("undid: " + r.undone, true); applyState(r.state); }));
$("redo").addEventListener("click", () => run(async () => { const r = await api("POST", "/api/redo"); say("redid: " + r.redone, true); applyState(r.state); }));
$("propagate").addEventListener("click", () => run(async () => {
  $("status").textContent = "starting"; $("status").className = "status running";
  applyState(await api("POST", "/api/propagate", { direction: $("direction").value }));
}));
$("cancel").addEventListener("click", () => run(async () => applyState(await api("POST", "/api/cancel"))));
async function doExport(format) {
  const body = { format };
  if (format === "training") Object.assign(body, { width: Number($("train-w").value), height: Number($("train-h").value), gray: $("train-gray").checked });
  say(`exporting ${format}…`, true);
  const r = await api("POST", "/api/export", body);
  say(`exported ${format} to ${r.path}`, true);
}
$("export").addEventListener("click", () => run(() => doExport("davis")));
$("export-format").addEventListener("change", (e) => {
  const f = e.target.value; e.target.value = "";
  if (f) run(() => doExport(f));
});
$("frame-slider").addEventListener("input", (e) => seek(Number(e.target.value)));
$("play").addEventListener("click", togglePlay);

function togglePlay() {
  S.playing = !S.playing;
  $("play").textContent = S.playing ? "⏸" : "▶";
  if (S.playing) tick();
}
async function tick() {
  if (!S.playing) return;
  const t0 = performance.now();
  await seek(S.frame + 1 >= S.count ? 0 : S.frame + 1);
  const fps = (S.state && S.state.source.fps) || 25;
  setTimeout(tick, Math.max(0, 1000 / fps - (performance.now() - t0)));
}

window.addEventListener("keydown", (e) => {
  if (e.target.tagName === "INPUT" && e.target.type !== "range" && e.target.type !== "radio") return;
  if (e.target.tagName === "SELECT") return;
  const k = e.key;
  if (k === "ArrowRight" || k === "ArrowLeft") {
    e.preventDefault();
    const step = (e.shiftKey ? 10 : 1) * (k === "ArrowRight" ? 1 : -1);
    seek(S.frame + step);
  } else if (k === " ") { e.preventDefault(); togglePlay(); }
  else if (k === "z" || k === "Z") { e.preventDefault(); (e.shiftKey ? $("redo") : $("undo")).click(); }
  else if (k === "p") { $("propagate").click(); }
  else if (k === "f") { S.zoom = 1; S.panX = 0; S.panY = 0; draw(); }
  else if (/^[1-9]$/.test(k) && S.state) {
    const o = S.state.objects[Number(k) - 1];
    if (o) { S.object = o.id; renderObjects(S.state.objects); }
  }
});

// -- start ------------------------------------------------------------------------------------------
function listen() {
  const es = new EventSource(withToken("/api/events"));
  es.addEventListener("state", (ev) => {
    const d = JSON.parse(ev.data);
    if (!S.state) return;
    renderJob(d.job);
    S.state.timeline = d.timeline; renderTimeline(d.timeline);
    $("undo").disabled = !d.can_undo; $("redo").disabled = !d.can_redo;
    if (d.version !== S.version) run(async () => applyState(await api("GET", "/api/state")));
  });
  es.onerror = () => { $("status").textContent = "disconnected: retrying"; };
}

run(async () => {
  let s;
  try { s = await api("GET", "/api/state"); } catch (e) {
    $("status").textContent = "error: nothing loaded"; $("status").className = "status running";
    throw e;
  }
  S.count = s.source.frames; S.width = s.source.width; S.height = s.source.height;
  view.width = S.width; view.height = S.height;
  fit();
  $("frame-slider").max = S.count - 1; $("frame-count").textContent = String(S.count - 1);
  $("source").textContent = s.source.path.split(/[\\/]/).pop() + ` · ${S.width}x${S.height} · engine ${s.engine}`;
  applyState(s);
  await seek(0);
  listen();
  if (s.resumed) say("resumed the saved project", true);
});
