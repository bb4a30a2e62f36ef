// Conformance of the riskguard gateway simulator with Microsoft's @microsoft/signalr JavaScript client.
//
// Usage: node conformance.mjs http://127.0.0.1:PORT
//
// Logs in over REST, connects to /hubs/user and /hubs/market the way the vendor examples do
// (skipNegotiation, WebSockets only, accessTokenFactory; the market hub also carries ?access_token= in its
// URL, the user hub relies on the Authorization header Node's client sends), subscribes, then makes the
// simulator emit a quote, an account change and a market order's events and checks they arrive with the
// documented argument shapes. Exits non-zero on any failure; every wait has a deadline.

import * as signalR from "@microsoft/signalr";

const base = (process.argv[2] || process.env.SIM_URL || "").replace(/\/$/, "");
if (!base) {
  console.error("usage: node conformance.mjs http://127.0.0.1:PORT");
  process.exit(2);
}
const ACCOUNT = 7001;
const CONTRACT = "CON.F.US.MNQ.Z25";
const DEADLINE_MS = 10_000;

let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
  if (ok) {
    passed += 1;
    console.log(`ok   ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL ${name} ${detail}`);
  }
}

async function post(path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(base + path, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

// Resolves with the first event for which `accept` returns true, or rejects after the deadline.
function waitFor(connection, target, accept = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      connection.off(target, handler);
      reject(new Error(`no ${target} within ${DEADLINE_MS} ms`));
    }, DEADLINE_MS);
    function handler(...args) {
      if (!accept(...args)) return;
      clearTimeout(timer);
      connection.off(target, handler);
      resolve(args);
    }
    connection.on(target, handler);
  });
}

function hub(path, token, withQuery) {
  const url = `${base}/hubs/${path}` + (withQuery ? `?access_token=${encodeURIComponent(token)}` : "");
  return new signalR.HubConnectionBuilder()
    .withUrl(url, {
      skipNegotiation: true,
      transport: signalR.HttpTransportType.WebSockets,
      accessTokenFactory: () => token,
      timeout: DEADLINE_MS,
    })
    .configureLogging(signalR.LogLevel.Warning)
    .build();
}

async function main() {
  const login = await post("/api/Auth/loginKey", { userName: "demo", apiKey: "demo" });
  check("login", login.status === 200 && login.body.success === true && typeof login.body.token === "string", JSON.stringify(login.body));
  const token = login.body.token;

  const user = hub("user", token, false);
  const market = hub("market", token, true);
  // Events nobody waits for are still expected; give them a handler so the client does not warn.
  user.on("GatewayUserAccount", () => {});
  await user.start();
  await market.start();
  check("both hubs connected", user.state === signalR.HubConnectionState.Connected && market.state === signalR.HubConnectionState.Connected);

  await user.invoke("SubscribeAccounts");
  await user.invoke("SubscribeOrders", ACCOUNT);
  await user.invoke("SubscribePositions", ACCOUNT);
  await user.invoke("SubscribeTrades", ACCOUNT);
  await market.invoke("SubscribeContractQuotes", CONTRACT);
  check("subscriptions completed", true);

  let unknownRejected = false;
  try {
    await market.invoke("NoSuchMethod");
  } catch (e) {
    unknownRejected = /Method does not exist/.test(String(e));
  }
  check("unknown method rejected", unknownRejected);

  // A quote: (contractId, data).
  const quote = waitFor(market, "GatewayQuote", (contractId) => contractId === CONTRACT);
  const price = await post("/sim/price", { contractId: CONTRACT, lastPrice: 21000.5, bestBid: 21000.25, bestAsk: 21000.75 });
  check("price set", price.status === 200);
  const [contractId, data] = await quote;
  check("quote arrives with (contractId, data)", contractId === CONTRACT && data.lastPrice === 21000.5 && data.bestAsk === 21000.75 && data.symbol === "F.US.MNQ", JSON.stringify(data));

  // An account event: one argument.
  const account = waitFor(user, "GatewayUserAccount", (a) => a.id === ACCOUNT);
  await post("/sim/account", { accountId: ACCOUNT, canTrade: false });
  const accountArgs = await account;
  check("account event arrives with one argument", accountArgs.length === 1 && accountArgs[0].canTrade === false, JSON.stringify(accountArgs));
  await post("/sim/account", { accountId: ACCOUNT, canTrade: true });

  // A market order: order, trade and position events, in that order.
  const seen = [];
  for (const target of ["GatewayUserOrder", "GatewayUserTrade", "GatewayUserPosition"]) {
    user.on(target, () => {
      seen.push(target);
    });
  }
  const position = waitFor(user, "GatewayUserPosition", (p) => p.size === 1);
  const placed = await post("/api/Order/place", { accountId: ACCOUNT, contractId: CONTRACT, type: 2, side: 0, size: 1 }, token);
  check("market order placed", placed.body && placed.body.success === true, JSON.stringify(placed.body));
  const [pos] = await position;
  check("position event", pos.averagePrice === 21000.75 && pos.type === 1, JSON.stringify(pos));
  check("events ordered order, trade, position", seen.join(",") === "GatewayUserOrder,GatewayUserTrade,GatewayUserPosition", seen.join(","));

  await user.stop();
  await market.stop();
}

const overall = setTimeout(() => {
  console.log("FAIL conformance did not finish in time");
  process.exit(1);
}, 60_000);

try {
  await main();
} catch (e) {
  failed += 1;
  console.log(`FAIL ${e && e.stack ? e.stack : e}`);
}
clearTimeout(overall);
console.log(`signalr-conformance: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
