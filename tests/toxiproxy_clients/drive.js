// toxiproxy-node-client, unchanged, driving a running Vaurien started with
// --toxiproxy-api: run by tests/test_toxiproxy_clients.py as
//
//     node drive.js API_PORT UPSTREAM proxies|toxics
//
// UPSTREAM is an echo server's host:port. Each step asserts what Toxiproxy
// would answer; it prints "ok" at the end, or fails with the step's stack.
"use strict";
const assert = require("node:assert/strict");
const net = require("node:net");
const { Toxiproxy, ToxiproxyError } = require("toxiproxy-node-client");

// Whether the proxy listening at host:port passes bytes both ways.
function echoes(listen) {
  const [host, port] = [listen.slice(0, listen.lastIndexOf(":")), listen.slice(listen.lastIndexOf(":") + 1)];
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: Number(port) }, () => socket.write("ping"));
    let received = "";
    socket.setTimeout(5000, () => { socket.destroy(); resolve(false); });
    socket.on("data", (data) => {
      received += data;
      if (received.length >= 4) { socket.end(); resolve(received === "ping"); }
    });
    socket.on("error", () => resolve(false));
    socket.on("close", () => resolve(received === "ping"));
  });
}

async function proxies(toxiproxy, upstream) {
  assert.ok((await toxiproxy.getVersion()).includes("version"));
  assert.deepEqual(await toxiproxy.getAll(), {});

  const proxy = await toxiproxy.createProxy({ name: "echo", listen: "127.0.0.1:0", upstream });
  assert.equal(proxy.enabled, true);
  assert.equal(proxy.upstream, upstream);
  assert.ok(!proxy.listen.endsWith(":0"), proxy.listen);
  assert.ok(await echoes(proxy.listen));
  assert.deepEqual(Object.keys(await toxiproxy.getAll()), ["echo"]);
  assert.equal((await toxiproxy.get("echo")).listen, proxy.listen);
  await assert.rejects(toxiproxy.createProxy({ name: "echo", listen: "127.0.0.1:0", upstream }),
                       ToxiproxyError);
  await assert.rejects(toxiproxy.get("nope"), ToxiproxyError);

  const down = await proxy.update({ ...proxy.toJson(), enabled: false });
  assert.equal(down.enabled, false);
  assert.ok(!(await echoes(proxy.listen)));
  const up = await proxy.update({ ...proxy.toJson(), enabled: true });
  assert.equal(up.enabled, true);
  assert.equal(up.listen, proxy.listen);
  assert.ok(await echoes(proxy.listen));

  // Vaurien's handlers as toxic types: every connection cut here.
  const blackout = await proxy.addToxic({ type: "blackout", toxicity: 1 });
  assert.equal(blackout.name, "blackout_downstream");
  assert.ok(!(await echoes(proxy.listen)));
  assert.equal((await proxy.getToxic("blackout_downstream")).type, "blackout");
  await blackout.remove();
  await assert.rejects(proxy.getToxic("blackout_downstream"), ToxiproxyError);
  assert.ok(await echoes(proxy.listen));

  await proxy.update({ enabled: false });
  await proxy.addToxic({ type: "blackout", toxicity: 1 });
  await toxiproxy.reset();
  const reset = await toxiproxy.get("echo");
  assert.equal(reset.enabled, true);
  assert.ok(await echoes(proxy.listen));

  const populated = await toxiproxy.populate([
    { name: "echo", listen: proxy.listen, upstream },
    { name: "second", listen: "127.0.0.1:0", upstream },
  ]);
  assert.deepEqual(Object.keys(populated).sort(), ["echo", "second"]);
  assert.equal(populated.echo.listen, proxy.listen);
  assert.ok(await echoes(populated.second.listen));

  for (const each of Object.values(await toxiproxy.getAll())) {
    await each.remove();
  }
  assert.deepEqual(await toxiproxy.getAll(), {});
}

async function toxics(toxiproxy, upstream) {
  const proxy = await toxiproxy.createProxy({ name: "toxic", listen: "127.0.0.1:0", upstream });
  const latency = await proxy.addToxic({
    name: "latency_downstream", type: "latency", stream: "downstream", toxicity: 1,
    attributes: { latency: 100 },
  });
  assert.deepEqual(latency.toJson(), {
    name: "latency_downstream", type: "latency", stream: "downstream", toxicity: 1,
    attributes: { latency: 100, jitter: 0 },
  });
  const updated = await latency.update({ attributes: { jitter: 10 }, toxicity: 0.5 });
  assert.deepEqual(updated.attributes, { latency: 100, jitter: 10 });
  assert.equal(updated.toxicity, 0.5);
  const again = await updated.update(updated.toJson());
  assert.deepEqual(again.toJson(), updated.toJson());
  assert.equal((await proxy.getToxic("latency_downstream")).attributes.jitter, 10);
  assert.ok(await echoes(proxy.listen));
  await assert.rejects(proxy.addToxic({ type: "no_such_toxic" }), ToxiproxyError);
  await again.remove();
  await assert.rejects(proxy.getToxic("latency_downstream"), ToxiproxyError);
  await proxy.addToxic({ type: "latency", attributes: { latency: 1 } });
  await toxiproxy.reset();
  assert.deepEqual((await toxiproxy.get("toxic")).toJson().enabled, true);
  await proxy.remove();
}

const [apiPort, upstream, part] = process.argv.slice(2);
const toxiproxy = new Toxiproxy(`http://127.0.0.1:${apiPort}`);
({ proxies, toxics })[part](toxiproxy, upstream).then(
  () => console.log("ok"),
  (error) => { console.error(error.stack || error); process.exit(1); },
);
