'use strict';
// tests/interop/hub.js: starts a real `simhub serve` for the interop tests and hands them what
// the Azure IoT Node SDKs need to reach it (connection strings, CA, ports), plus readers for the
// hub's state (SQLite rows, the C2D queue, `simhub twin show`) and a small service REST client
// signed with the iothubowner SAS (twins, methods, C2D injection). It never patches or wraps the
// SDKs: they run exactly as an application runs them. For the service SDK (azure-iothub), which
// can only dial HostName:443, it redirects TLS sockets below the SDK (routeHost443) and trusts
// simhub's CA through NODE_EXTRA_CA_CERTS (runWithSharedCa).

const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');

const HERE = __dirname;
const SOURCE_DIR = process.env.SIMHUB_SOURCE_DIR || path.resolve(HERE, '..', '..');

// The simhub binary: $SIMHUB (ctest sets it), else $SIMHUB_BUILD_DIR/simhub/simhub, else ./build.
function simhubBinary() {
	if (process.env.SIMHUB) return process.env.SIMHUB;
	const build = process.env.SIMHUB_BUILD_DIR || path.join(SOURCE_DIR, 'build');
	return path.join(build, 'simhub', 'simhub');
}

// Symmetric keys of the interop fixture: throwaway values, also used by the captured traces.
const KEYS = {
	owner: 'HBcXzhxUn0TswLYX9e4npELqRW5qisVb9h7JdhCYcfk=',
	dev1: 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU=',
	mod1: 'bW9kdWxlLWtleS1mb3ItaW50ZXJvcC10ZXN0cy0wMSE=',
	wrong: 'd3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktMDA=',
};

// The default fixture: device dev1 with module mod1, each with desired and reported properties.
function defaultFixture() {
	return {
		version: 1,
		description: 'simhub interop tests (tests/interop/hub.js)',
		policies: [{
			name: 'iothubowner',
			primaryKey: KEYS.owner,
			rights: ['RegistryRead', 'RegistryWrite', 'ServiceConnect', 'DeviceConnect'],
		}],
		devices: [{
			id: 'dev1',
			authentication: { type: 'sas', primaryKey: KEYS.dev1 },
			twin: {
				tags: { site: 'lab' },
				desired: { temp: 20, telemetry: { intervalSec: 5 } },
				reported: { fw: '0.9' },
			},
			modules: [{
				id: 'mod1',
				authentication: { type: 'sas', primaryKey: KEYS.mod1 },
				twin: {
					desired: { mode: 'eco', limits: { max: 7 } },
					reported: { started: true },
				},
			}],
		}],
	};
}

function sleep(ms) {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

// Races a promise against a deadline so that a hung SDK call fails the test instead of the run.
function withTimeout(promise, ms, what) {
	let timer;
	const deadline = new Promise((resolve, reject) => {
		timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
	});
	return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// An https.Agent that dials a fixed port. The SDK's MqttWs transport builds
// wss://<host>:443/$iothub/websocket and has no port option; it does pass the documented
// `mqtt.webSocketAgent` option to the WebSocket, so the TLS connection goes to simhub's https
// port while the URL, Host header, SNI and certificate check stay those of the connection string.
class FixedPortAgent extends https.Agent {
	constructor(port, options) {
		super(options);
		this.fixedPort = port;
	}

	createConnection(options, callback) {
		this.connections = (this.connections || 0) + 1; // for tests that count the SDK's requests
		return super.createConnection({ ...options, port: this.fixedPort }, callback);
	}
}

// The service SDK (azure-iothub) reaches simhub through a socket-level redirect.
// Why: the SDK always dials HostName on port 443. It has no port, gateway or agent option:
// Registry and Client replace any `http.agent` with their own keep-alive https.Agent. It also has
// no CA option. So the test process wraps `tls.connect`, which every https.Agent calls, once.
// A TLS connection to a routed host on port 443 goes to 127.0.0.1:<that hub's https port>
// instead. The SNI (servername), the certificate check against the host name, the Host header
// and every byte stay as the SDK made them, the way the trace node-sdk-service-https.md was
// captured. Other connections, including the device SDK's, pass through untouched.
// Trust comes from NODE_EXTRA_CA_CERTS, which Node reads only at start-up; see
// runWithSharedCa().
const tlsRoutes = new Map();   // host name -> https port of the hub serving it
let tlsConnect = null;         // the real tls.connect, once wrapped

function routeHost443(host, port) {
	if (tlsRoutes.has(host) && tlsRoutes.get(host) !== port) {
		throw new Error(`${host}:443 already goes to port ${tlsRoutes.get(host)}: one hub per host name at a time`);
	}
	tlsRoutes.set(host, port);
	if (tlsConnect) return;
	tlsConnect = tls.connect;
	tls.connect = function simhubRoutedConnect(...args) {
		const opts = args[0];
		if (opts !== null && typeof opts === 'object' && tlsRoutes.has(opts.host) &&
		    Number(opts.port === undefined ? 443 : opts.port) === 443) {
			args[0] = {
				...opts,
				host: '127.0.0.1',
				port: tlsRoutes.get(opts.host),
				servername: opts.servername || opts.host,
			};
		}
		return tlsConnect.apply(this, args);
	};
}

function unrouteHost443(host) {
	tlsRoutes.delete(host);
}

// NODE_EXTRA_CA_CERTS only takes effect when a process starts, and each hub makes its CA when it
// starts. So a test file that uses the service SDK calls this first. In the process ctest or a
// person started, it creates one CA (`simhub ca` in a temporary folder), runs the same file again
// in a child process with NODE_EXTRA_CA_CERTS=<that ca.pem> and SIMHUB_INTEROP_CA_DIR=<its
// folder>, and passes on the child's exit code. The child's output goes to the same stdout, so
// `node --test` sees the child's results as the file's own. It returns false there: define no
// tests. In the child it returns true. startHub({ sharedCa: true }) then gives each hub that CA,
// so the SDK trusts every hub of the run.
function runWithSharedCa() {
	if (process.env.SIMHUB_INTEROP_CA_DIR) return true;
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simhub-interop-ca-'));
	const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
	try {
		execFileSync(simhubBinary(), ['ca', '--db', path.join(dir, 'ca.db')], { stdio: ['ignore', 'ignore', 'pipe'] });
	} catch (e) {
		cleanup();
		throw new Error(`simhub ca failed: ${e.stderr || e.message}`);
	}
	const tlsDir = path.join(dir, 'tls');
	const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
		stdio: 'inherit',
		env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(tlsDir, 'ca.pem'), SIMHUB_INTEROP_CA_DIR: tlsDir },
	});
	const forward = (sig) => child.kill(sig);
	process.on('SIGTERM', forward);
	process.on('SIGINT', forward);
	child.once('exit', (code, signal) => {
		cleanup();
		process.exitCode = code === null ? 1 : code;
		if (signal) console.error(`# the child run of ${process.argv[1]} ended by ${signal}`);
		process.removeListener('SIGTERM', forward);
		process.removeListener('SIGINT', forward);
	});
	return false;
}

// The application properties of an SDK Message as a plain object.
function appProperties(msg) {
	const out = {};
	for (let i = 0; i < msg.properties.count(); i++) {
		const { key, value } = msg.properties.getItem(i);
		out[key] = value;
	}
	return out;
}

// Collects a client's 'message' events (C2D). listen() adds the listener, which makes the SDK
// subscribe (MQTT) or start polling (HTTP); next() resolves the next message, arrived or not,
// within MS; pending() counts messages nobody asked for yet; stop() removes the listener.
function messageQueue(client, ms = 15000) {
	const arrived = [];
	const waiting = [];
	const onMessage = (msg) => {
		if (waiting.length) waiting.shift()(msg);
		else arrived.push(msg);
	};
	return {
		listen() { client.on('message', onMessage); },
		stop() { client.removeListener('message', onMessage); },
		next(what = 'C2D message') {
			if (arrived.length) return Promise.resolve(arrived.shift());
			let resolver;
			const p = new Promise((resolve) => { resolver = resolve; waiting.push(resolve); });
			return withTimeout(p, ms, what).catch((e) => {
				waiting.splice(waiting.indexOf(resolver), 1);
				throw e;
			});
		},
		pending() { return arrived.length; },
	};
}

// The SDK transports by name, loaded when first used.
const TRANSPORTS = {
	Mqtt: () => require('azure-iot-device-mqtt').Mqtt,
	MqttWs: () => require('azure-iot-device-mqtt').MqttWs,
	Http: () => require('azure-iot-device-http').Http,
};

class Hub {
	constructor(dir, child, ready, stderr) {
		this.dir = dir;
		this.child = child;
		this.ready = ready;
		this._stderr = stderr;
		this.host = ready.host;
		this.ca = fs.readFileSync(ready.ca, 'utf8');
		this.db = ready.db;
		this._clients = new Set();
		this._exit = new Promise((resolve) => {
			child.once('exit', (code, signal) => resolve({ code, signal }));
		});
	}

	stderr() {
		return this._stderr.join('');
	}

	// Runs a simhub CLI verb against this hub's database and returns its stdout.
	cli(args) {
		return execFileSync(simhubBinary(), [...args, '--db', this.db], {
			encoding: 'utf8',
			stdio: ['ignore', 'pipe', 'pipe'],
		});
	}

	// A connection string as `simhub cs` prints it, with GatewayHostName=gateway when given.
	connectionString(identity, gateway) {
		const args = ['cs', identity];
		if (gateway) args.push('--gateway', gateway);
		return this.cli(args).trim();
	}

	// The twin as the service API returns it (`simhub twin show ID --json`).
	twin(identity) {
		return JSON.parse(this.cli(['twin', 'show', identity, '--json']));
	}

	// Rows of a read-only SQL query, through the sqlite3 shell's JSON output.
	sql(query) {
		const out = execFileSync('sqlite3', ['-json', '-readonly', this.db, query], {
			encoding: 'utf8',
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		return out.trim() === '' ? [] : JSON.parse(out);
	}

	// Stored telemetry of one identity, oldest first (view d2c_messages_view).
	d2c(deviceId, moduleId) {
		const q = (s) => `'${String(s).replace(/'/g, "''")}'`;
		const mod = moduleId ? `module_id = ${q(moduleId)}` : `(module_id IS NULL OR module_id = '')`;
		return this.sql(`SELECT * FROM d2c_messages_view WHERE device_id = ${q(deviceId)} AND ${mod} ORDER BY seq`);
	}

	// The C2D queue of DEVICE_ID, oldest first (table c2d_messages: state, outcome, delivery_count,
	// lock_token, message_id, properties as JSON text).
	c2dRows(deviceId) {
		const id = String(deviceId).replace(/'/g, "''");
		return this.sql(`SELECT seq, message_id, state, outcome, delivery_count, lock_token, properties,
			CAST(body AS TEXT) AS body_text FROM c2d_messages WHERE device_id = '${id}' ORDER BY seq`);
	}

	// The c2d_messages row of MESSAGE_ID once PRED(row) holds, polled every 25 ms for up to MS
	// (MQTT settles on the SDK's PUBACK, which no SDK call waits for).
	async c2dRowWhen(deviceId, messageId, pred, ms = 5000) {
		const deadline = Date.now() + ms;
		for (;;) {
			const row = this.c2dRows(deviceId).find((r) => r.message_id === messageId);
			if (row && pred(row)) return row;
			if (Date.now() > deadline) {
				throw new Error(`c2d message ${messageId} of ${deviceId}: condition not met within ${ms} ms; row ${JSON.stringify(row)}`);
			}
			await sleep(25);
		}
	}

	// SDK options that make a transport reach this hub: the CA, for MqttWs and Http the https port.
	// Http (azure-iot-device-http) always dials HostName on :443 and passes the documented
	// `http.agent` option to every request, so the same FixedPortAgent moves it to the https port.
	// Its setOptions calls back only when a receive policy is part of the options (without one the
	// promise never settles, node-sdk-device-https.md), so Http always gets one: C2D polling every
	// POLLSECONDS (the SDK's default is 1 s; shorter keeps the suite fast).
	sdkOptions(transportName, pollSeconds = 0.2) {
		const options = { ca: this.ca };
		if (transportName === 'MqttWs') {
			options.mqtt = { webSocketAgent: new FixedPortAgent(this.ready.https, { ca: this.ca }) };
		} else if (transportName === 'Http') {
			options.http = {
				agent: new FixedPortAgent(this.ready.https, { ca: this.ca }),
				receivePolicy: { interval: pollSeconds },
			};
		}
		return options;
	}

	// Creates (not opens) an SDK client for IDENTITY ("dev1" or "dev1/mod1") over TRANSPORT
	// ('Mqtt' or 'MqttWs', the azure-iot-device-mqtt transports, or 'Http', azure-iot-device-http).
	// Mqtt reaches simhub's mqtts port through GatewayHostName=localhost:PORT as `simhub cs
	// --gateway` prints it (the SDK dials the gateway's host and port and still signs for
	// HostName); MqttWs and Http use the connection string as printed plus the agent options of
	// sdkOptions(). KEY, when given, replaces the key; OPTIONS, when given, replace top-level
	// members of sdkOptions() (e.g. an `http` with an agent the test keeps).
	async client(identity, transport, key, options) {
		if (!TRANSPORTS[transport]) throw new Error(`unknown transport ${transport}`);
		const gateway = transport === 'Mqtt' ? `localhost:${this.ready.mqtts}` : undefined;
		let cs = this.connectionString(identity, gateway);
		if (key) cs = cs.replace(/SharedAccessKey=[^;]*/, `SharedAccessKey=${key}`);
		return this.clientFromConnectionString(cs, transport, options);
	}

	// Same as client() for a connection string written by the test (e.g. an unknown identity).
	// Mqtt needs the GatewayHostName=localhost:PORT of this hub in CS; MqttWs and Http do not.
	async clientFromConnectionString(cs, transport, options) {
		const device = require('azure-iot-device');
		const Kind = /(^|;)ModuleId=/.test(cs) ? device.ModuleClient : device.Client;
		const client = Kind.fromConnectionString(cs, TRANSPORTS[transport]());
		this.track(client);
		await withTimeout(client.setOptions({ ...this.sdkOptions(transport), ...options }), 5000, 'setOptions');
		return client;
	}

	// Remembers a client so that stop() closes it before the hub goes away.
	track(client) {
		this._clients.add(client);
		return client;
	}

	async closeClient(client) {
		this._clients.delete(client);
		try {
			await withTimeout(client.close(), 5000, 'client.close');
		} catch (e) {
			// A client that never opened, or that the hub refused, may fail to close: harmless.
		}
	}

	// A service SAS for this hub (sr = host, skn = iothubowner), as the service SDKs make it.
	serviceToken(ttlSec = 3600) {
		const cs = Object.fromEntries(this.ready.service.split(';').map((kv) => {
			const i = kv.indexOf('=');
			return [kv.slice(0, i), kv.slice(i + 1)];
		}));
		const sr = encodeURIComponent(cs.HostName);
		const se = Math.floor(Date.now() / 1000) + ttlSec;
		const sig = crypto.createHmac('sha256', Buffer.from(cs.SharedAccessKey, 'base64'))
			.update(`${sr}\n${se}`).digest('base64');
		return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${se}&skn=${cs.SharedAccessKeyName}`;
	}

	// One service REST call on the https port; resolves {status, headers, body (parsed JSON or text)}.
	// BODY: an object is sent as JSON; a string or Buffer is sent as it is (HEADERS say its type).
	service(method, pathAndQuery, body, headers = {}) {
		const raw = typeof body === 'string' || Buffer.isBuffer(body);
		const payload = body === undefined ? undefined : Buffer.from(raw ? body : JSON.stringify(body));
		const sep = pathAndQuery.includes('?') ? '&' : '?';
		return new Promise((resolve, reject) => {
			const req = https.request({
				host: 'localhost',
				port: this.ready.https,
				method,
				path: `${pathAndQuery}${sep}api-version=2021-04-12`,
				ca: this.ca,
				headers: {
					Authorization: this.serviceToken(),
					'Request-Id': crypto.randomUUID(),
					'User-Agent': 'simhub-interop-tests',
					...(payload ? {
						...(raw ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
						'Content-Length': payload.length,
					} : {}),
					...headers,
				},
				timeout: 40000,
			}, (res) => {
				const chunks = [];
				res.on('data', (c) => chunks.push(c));
				res.on('end', () => {
					const text = Buffer.concat(chunks).toString('utf8');
					let parsed = text;
					if (/application\/json/.test(res.headers['content-type'] || '') && text !== '') {
						try { parsed = JSON.parse(text); } catch (e) { parsed = text; }
					}
					resolve({ status: res.statusCode, headers: res.headers, body: parsed });
				});
			});
			req.on('timeout', () => req.destroy(new Error(`${method} ${pathAndQuery}: timed out`)));
			req.on('error', reject);
			if (payload) req.write(payload);
			req.end();
		});
	}

	// A service connection string for POLICY (default iothubowner, the ready file's), with KEY
	// when given (a policy of the test's fixture). HostName is the hub's, as the SDK needs it.
	serviceConnectionString(policy, key) {
		if (!policy) return this.ready.service;
		return `HostName=${this.host};SharedAccessKeyName=${policy};SharedAccessKey=${key}`;
	}

	// An azure-iothub Registry / Client (methods) for CS (default: iothubowner), unmodified. The
	// first one routes this hub's host name on port 443 to its https port (routeHost443) until
	// stop(). The hub must have been started with sharedCa, in a process of runWithSharedCa().
	registry(cs) {
		this._routeService();
		return require('azure-iothub').Registry.fromConnectionString(cs || this.ready.service);
	}

	serviceClient(cs) {
		this._routeService();
		return require('azure-iothub').Client.fromConnectionString(cs || this.ready.service);
	}

	_routeService() {
		if (!this.sharedCa) {
			throw new Error('the service SDK trusts only the shared CA: startHub({ sharedCa: true }) in a process of runWithSharedCa()');
		}
		routeHost443(this.host, this.ready.https);
		this._routed = true;
	}

	// Queues a C2D message for DEVICE_ID through simhub's injection endpoint
	// (POST /devices/{id}/messages/deviceBound, rest_c2d.c) and asserts the 204. MSG: {body (string
	// or Buffer), messageId, correlationId, ack, expiry (Date), contentType, app: {name: value}}.
	// Header form by default: the body as it is, system properties as iothub-* headers (the content
	// type as Content-Type), app properties as iothub-app-{name} headers (names arrive lower-cased).
	// With ENVELOPE the JSON envelope form (application/vnd.microsoft.iothub.json; property names
	// keep their case; a Buffer body travels as base64).
	async sendC2D(deviceId, msg, { envelope = false } = {}) {
		const sys = {};
		if (msg.messageId !== undefined) sys['iothub-messageid'] = msg.messageId;
		if (msg.correlationId !== undefined) sys['iothub-correlationid'] = msg.correlationId;
		if (msg.ack !== undefined) sys['iothub-ack'] = msg.ack;
		if (msg.expiry !== undefined) sys['iothub-expiry'] = msg.expiry.toISOString();
		if (envelope && msg.contentType !== undefined) sys['iothub-contenttype'] = msg.contentType;
		if (!envelope && msg.contentType !== undefined) sys['Content-Type'] = msg.contentType;
		const app = {};
		for (const [k, v] of Object.entries(msg.app || {})) app[`iothub-app-${k}`] = v;
		const path = `/devices/${encodeURIComponent(deviceId)}/messages/deviceBound`;
		let res;
		if (envelope) {
			const body = Buffer.from(msg.body);
			const binary = Buffer.isBuffer(msg.body);
			res = await this.service('POST', path, JSON.stringify({
				body: binary ? body.toString('base64') : msg.body,
				base64Encoded: binary,
				properties: { ...sys, ...app },
			}), { 'Content-Type': 'application/vnd.microsoft.iothub.json' });
		} else {
			res = await this.service('POST', path, Buffer.from(msg.body), { ...sys, ...app });
		}
		if (res.status !== 204) {
			throw new Error(`C2D injection for ${deviceId}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
		}
	}

	// Closes the tracked clients, sends SIGTERM, waits for the exit (SIGKILL after 10 s), removes
	// the temporary folder; resolves {code, signal}.
	async stop() {
		await Promise.all([...this._clients].map((c) => this.closeClient(c)));
		if (this._routed) unrouteHost443(this.host);
		if (this.child.exitCode === null && this.child.signalCode === null) {
			this.child.kill('SIGTERM');
		}
		const killer = setTimeout(() => this.child.kill('SIGKILL'), 10000);
		const result = await this._exit;
		clearTimeout(killer);
		if (!process.env.SIMHUB_INTEROP_KEEP) {
			fs.rmSync(this.dir, { recursive: true, force: true });
		}
		return result;
	}
}

// Starts `simhub serve` on free ports with FIXTURE (an object; default: defaultFixture()) in a
// new temporary folder, waits for the ready file, and resolves a Hub. EXTRA_ARGS go to serve
// (e.g. ['--hostname', 'myhub.azure-devices.net']). SHARED_CA: the hub uses the CA of
// runWithSharedCa() (copied into its tls folder; simhub issues its server certificate from it),
// which the service SDK trusts through NODE_EXTRA_CA_CERTS. Rejects when simhub exits or is not
// ready within 20 s, with its stderr in the message.
async function startHub({ fixture = defaultFixture(), extraArgs = [], sharedCa = false } = {}) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simhub-interop-'));
	if (sharedCa) {
		const from = process.env.SIMHUB_INTEROP_CA_DIR;
		if (!from) {
			fs.rmSync(dir, { recursive: true, force: true });
			throw new Error('sharedCa needs SIMHUB_INTEROP_CA_DIR: call runWithSharedCa() first');
		}
		fs.mkdirSync(path.join(dir, 'tls'), { mode: 0o700 });
		for (const f of ['ca.pem', 'ca.key']) fs.copyFileSync(path.join(from, f), path.join(dir, 'tls', f));
	}
	const fixturePath = path.join(dir, 'fixture.json');
	const readyPath = path.join(dir, 'ready.json');
	fs.writeFileSync(fixturePath, JSON.stringify(fixture, null, 2));
	const args = [
		'serve', '--fixtures', fixturePath, '--db', path.join(dir, 'hub.db'),
		'--mqtt-port', '0', '--mqtts-port', '0', '--https-port', '0',
		'--ready-file', readyPath, ...extraArgs,
	];
	const child = spawn(simhubBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
	const stderr = [];
	child.stderr.on('data', (d) => stderr.push(d.toString('utf8')));
	let exited = null;
	child.once('exit', (code, signal) => { exited = { code, signal }; });
	let spawnError = null;
	child.once('error', (e) => { spawnError = e; });

	const deadline = Date.now() + 20000;
	for (;;) {
		if (spawnError) {
			fs.rmSync(dir, { recursive: true, force: true });
			throw new Error(`cannot run ${simhubBinary()}: ${spawnError.message}`);
		}
		if (exited) {
			fs.rmSync(dir, { recursive: true, force: true });
			throw new Error(`simhub serve exited (${JSON.stringify(exited)}) before it was ready:\n${stderr.join('')}`);
		}
		if (fs.existsSync(readyPath)) {
			// simhub writes the ready file atomically (rename), so one read is the whole file.
			const ready = JSON.parse(fs.readFileSync(readyPath, 'utf8'));
			const hub = new Hub(dir, child, ready, stderr);
			hub.sharedCa = sharedCa;
			return hub;
		}
		if (Date.now() > deadline) {
			child.kill('SIGKILL');
			fs.rmSync(dir, { recursive: true, force: true });
			throw new Error(`simhub serve not ready within 20 s:\n${stderr.join('')}`);
		}
		await sleep(50);
	}
}

module.exports = {
	startHub, defaultFixture, KEYS, FixedPortAgent, withTimeout, sleep, simhubBinary, appProperties, messageQueue,
	runWithSharedCa,
};
