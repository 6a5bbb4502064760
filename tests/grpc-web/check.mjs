// Calls a running suite over gRPC-Web, as a browser front end would, with a client nobody here wrote:
// Connect's gRPC-Web transport over HTTP/1.1, with message types read at run time from the suite's descriptor set
// (`buf build`), so nothing is generated or hand-encoded. Exits non-zero on the first mismatch.
//
// usage: node check.mjs   with PORTAL_URL (http://127.0.0.1:PORT), PORTAL_TOKEN (a service token with scopes
//        identity.admin and notification.publish), DESCRIPTORS (the .binpb), ALLOWED_ORIGIN (configured in
//        server.cors_allowed_origins).

import { readFileSync } from "node:fs";
import http from "node:http";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const baseUrl = env("PORTAL_URL");
const token = env("PORTAL_TOKEN");
const allowedOrigin = env("ALLOWED_ORIGIN");

const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(env("DESCRIPTORS"))));
const service = (name) => {
  const found = registry.getService(name);
  if (!found) throw new Error(`${name} is not in the descriptor set`);
  return found;
};
const enumValue = (enumName, valueName) => {
  const value = registry.getEnum(enumName)?.values.find((v) => v.name === valueName);
  if (!value) throw new Error(`${enumName}.${valueName} is not in the descriptor set`);
  return value.number;
};

const transport = createGrpcWebTransport({ baseUrl, httpVersion: "1.1" });
const identity = createClient(service("portal.identity.v1.IdentityService"), transport);
const notification = createClient(service("portal.notification.v1.NotificationService"), transport);
const authed = { headers: { authorization: `Bearer ${token}` }, timeoutMs: 10_000 };

let passed = 0;
async function check(name, body) {
  try {
    await body();
  } catch (error) {
    console.error(`not ok - ${name}`);
    console.error(error);
    console.log(`${passed} passed, 1 failed`);
    process.exit(1);
  }
  passed += 1;
  console.log(`ok - ${name}`);
}

let user;
let accountId;

await check("CreateAccount and CreateUser over gRPC-Web", async () => {
  const account = await identity.createAccount({ name: "Web Co", requestId: randomUUID() }, authed);
  accountId = account.accountId;
  assert.match(accountId, /.+/);
  user = await identity.createUser(
    {
      accountId,
      email: "admin@web.example",
      displayName: "Web Admin",
      role: enumValue("portal.identity.v1.Role", "ROLE_ADMINISTRATOR"),
      requestId: randomUUID(),
    },
    authed,
  );
  assert.match(user.userId, /.+/);
});

await check("GetUser returns the user", async () => {
  const got = await identity.getUser({ userId: user.userId }, authed);
  assert.equal(got.userId, user.userId);
  assert.equal(got.accountId, accountId);
  assert.equal(got.email, "admin@web.example");
  assert.equal(got.role, enumValue("portal.identity.v1.Role", "ROLE_ADMINISTRATOR"));
});

await check("a call without a token is UNAUTHENTICATED, with the gate's message", async () => {
  await assert.rejects(identity.getUser({ userId: user.userId }), (error) => {
    assert.ok(error instanceof ConnectError, String(error));
    assert.equal(error.code, Code.Unauthenticated, `${error.code} ${error.rawMessage}`);
    assert.match(error.rawMessage, /authorization/);
    return true;
  });
});

await check("an unknown user is NOT_FOUND", async () => {
  await assert.rejects(identity.getUser({ userId: "no-such-user" }, authed), (error) => {
    assert.equal(error.code, Code.NotFound, String(error));
    return true;
  });
});

await check("WatchAdvisory streams progress until the advisory is settled", async () => {
  const advisory = await notification.publishAdvisory(
    {
      kind: enumValue("portal.notification.v1.AdvisoryKind", "ADVISORY_KIND_SECURITY"),
      severity: enumValue("portal.notification.v1.Severity", "SEVERITY_CRITICAL"),
      title: "gRPC-Web check",
      summary: "Sent by the gRPC-Web client check.",
      target: { case: "accountIds", value: { accountIds: [accountId] } },
      requestId: randomUUID(),
    },
    authed,
  );
  assert.match(advisory.advisoryId, /^ADV-/);
  const seen = [];
  for await (const stats of notification.watchAdvisory({ advisoryId: advisory.advisoryId }, authed)) {
    seen.push(stats);
  }
  assert.ok(seen.length >= 1, "at least one message");
  const last = seen[seen.length - 1];
  assert.equal(last.advisoryId, advisory.advisoryId);
  assert.equal(last.settled, true, JSON.stringify(last));
  // The administrator stands in for the missing security contacts (N2) and is mailed.
  assert.equal(last.total, 1, JSON.stringify(last));
  assert.equal(last.sent, 1, JSON.stringify(last));
  assert.equal(last.accountsTargeted, 1, JSON.stringify(last));
});

/** Sends a CORS preflight for GetUser from `origin` and returns the response's status and headers. */
function preflight(origin) {
  const url = new URL("/portal.identity.v1.IdentityService/GetUser", baseUrl);
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,x-grpc-web,x-user-agent",
      },
    });
    request.on("response", (response) => {
      response.resume();
      resolve({ status: response.statusCode, headers: response.headers });
    });
    request.on("error", reject);
    request.end();
  });
}

await check("a preflight from the allowed origin is granted", async () => {
  const { status, headers } = await preflight(allowedOrigin);
  assert.ok(status >= 200 && status < 300, `status ${status}`);
  assert.equal(headers["access-control-allow-origin"], allowedOrigin);
  assert.match(headers["access-control-allow-methods"] ?? "", /POST/);
  for (const header of ["authorization", "content-type", "x-grpc-web", "x-user-agent"]) {
    assert.match(headers["access-control-allow-headers"] ?? "", new RegExp(header), header);
  }
});

await check("a preflight from another origin is not granted", async () => {
  const { headers } = await preflight("https://not-allowed.example");
  assert.equal(headers["access-control-allow-origin"], undefined, JSON.stringify(headers));
});

await check("the answer to the allowed origin exposes grpc-status and grpc-message", async () => {
  const seen = {};
  const exposing = createGrpcWebTransport({
    baseUrl,
    httpVersion: "1.1",
    interceptors: [
      (next) => async (request) => {
        request.header.set("origin", allowedOrigin);
        const response = await next(request);
        seen.allowOrigin = response.header.get("access-control-allow-origin");
        seen.expose = response.header.get("access-control-expose-headers");
        return response;
      },
    ],
  });
  const client = createClient(service("portal.identity.v1.IdentityService"), exposing);
  await client.getUser({ userId: user.userId }, authed);
  assert.equal(seen.allowOrigin, allowedOrigin);
  assert.match(seen.expose ?? "", /grpc-status/);
  assert.match(seen.expose ?? "", /grpc-message/);
});

console.log(`${passed} passed, 0 failed`);
