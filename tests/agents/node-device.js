'use strict';
// tests/agents/node-device.js: a small device agent on the official Azure IoT Node.js device SDK
// (azure-iot-device, azure-iot-device-mqtt and azure-iot-device-http from
// tests/interop/node_modules, unmodified), for the scenarios of `simhub test` (scenarios/ and
// tests/scenarios/). It reads what the runner exports (SIMHUB_CS_<ID>, SIMHUB_CA,
// SIMHUB_MQTTS_PORT, SIMHUB_HTTPS_PORT) and does what its flags say:
//   --identity ID       the identity to connect as (default dev1; "dev1/mod1" connects as a module
//                       with the SDK's ModuleClient): its SIMHUB_CS_<ID> variable
//   --transport T       mqtt (default) or http (azure-iot-device-http: telemetry and C2D only;
//                       the only transport of the SDK that can reject or abandon a C2D message)
//   --echo-desired      copy every desired property into reported (twin round trip); reports
//                       {"agent":"ready","pid":"<pid as a string>"} once it listens for desired patches
//   --wrong-echo        report "wrong" for every desired property (a broken agent)
//   --method NAME       answer direct method NAME with 200 {"accepted":true,"method":NAME,"pid":"<pid>"}
//   --silent-method NAME  take method NAME and never answer (the hub times out)
//   --c2d               settle every cloud-to-device message and log its body: by its application
//                       property "outcome": complete (default), reject, or abandon (abandoned on
//                       its first delivery, completed when it comes back)
//   --telemetry MS      send {"n":i,"temperature":20+i} (property kind=reading) every MS milliseconds
//   --burst N           with --telemetry: N messages per tick (default 1)
//   --prop K=V          add application property K=V to every telemetry message (repeatable)
//   --ack-report MS     every MS milliseconds send a kind=acks message: {"sent","acked","unacked",
//                       "recentAcks","maxAckMs","lastAckMs"} over every telemetry message sent so far
//                       (recentAcks: acknowledgements since the previous report)
//   --fault-message TYPE[,DELAY[,DURATION]]  once connected, send one message carrying the real
//                       hub's fault-injection properties, as the SDKs' e2e tests do:
//                       AzIoTHub_FaultOperationType=TYPE, ...CloseReason=boom,
//                       ...DelayInSecs=DELAY (default 1), ...DurationInSecs=DURATION (default 0)
//   --reconnect MS      the agent reconnects by itself (the SDK's retry policy is NoRetry, so every
//                       refused CONNECT is seen): it retries every MS ms, counts refusals by CONNACK
//                       code ("connack3", "connack5") or else by error name, and after each
//                       reconnect sends a kind=status message {"event":"reconnected", "connects",
//                       "refusals":{name:count},"lastError"}
//   --security-file F   once connected, send the JSON file F as a security message
//                       (iothub-interface-id urn:azureiot:Security:SecurityAgent:1)
//   --connect-delay MS  wait MS milliseconds before connecting
//   --ignore-sigterm    ignore SIGTERM (the runner must SIGKILL it after its grace period)
//   --token-ttl S       SAS token lifetime in seconds (SDK default 3600)
// It logs one line per thing it does on stdout; errors go to stderr. SIGTERM closes the client.

const path = require('path');
module.paths.push(path.join(__dirname, '..', 'interop', 'node_modules'));
const { Client, ModuleClient, Message } = require('azure-iot-device');
const { NoRetry } = require('azure-iot-common');
const fs = require('fs');
const https = require('https');

const args = process.argv.slice(2);
const opt = { identity: 'dev1', transport: 'mqtt', methods: [], silent: [], props: [], burst: 1 };
for (let i = 0; i < args.length; i++) {
	const a = args[i];
	if (a === '--identity') opt.identity = args[++i];
	else if (a === '--transport') opt.transport = args[++i];
	else if (a === '--echo-desired') opt.echo = true;
	else if (a === '--wrong-echo') opt.wrong = true;
	else if (a === '--method') opt.methods.push(args[++i]);
	else if (a === '--silent-method') opt.silent.push(args[++i]);
	else if (a === '--c2d') opt.c2d = true;
	else if (a === '--telemetry') opt.telemetry = Number(args[++i]);
	else if (a === '--burst') opt.burst = Number(args[++i]);
	else if (a === '--prop') opt.props.push(args[++i].split(/=(.*)/s).slice(0, 2));
	else if (a === '--ack-report') opt.ackReport = Number(args[++i]);
	else if (a === '--fault-message') opt.fault = args[++i].split(',');
	else if (a === '--reconnect') opt.reconnect = Number(args[++i]);
	else if (a === '--security-file') opt.securityFile = args[++i];
	else if (a === '--connect-delay') opt.connectDelay = Number(args[++i]);
	else if (a === '--ignore-sigterm') opt.ignoreTerm = true;
	else if (a === '--token-ttl') opt.tokenTtl = Number(args[++i]);
	else { console.error(`node-device: unknown argument ${a}`); process.exit(2); }
}
if (opt.transport !== 'mqtt' && opt.transport !== 'http') {
	console.error(`node-device: unknown transport ${opt.transport}`);
	process.exit(2);
}

const envName = 'SIMHUB_CS_' + opt.identity.toUpperCase().replace('/', '__').replace(/[^A-Z0-9_]/g, '_');
const cs = process.env[envName];
if (!cs) { console.error(`node-device: ${envName} is not set`); process.exit(2); }
const log = (...m) => console.log(new Date().toISOString(), ...m);
const pid = String(process.pid);
const ca = fs.readFileSync(process.env.SIMHUB_CA, 'utf8');

// The SDK's Http transport dials HostName:443; its documented `http.agent` option carries an
// https.Agent, and this one moves every connection to the hub's HTTPS port.
class FixedPortAgent extends https.Agent {
	constructor(port, options) {
		super(options);
		this.fixedPort = port;
	}
	createConnection(options, callback) {
		return super.createConnection({ ...options, port: this.fixedPort }, callback);
	}
}

// A module's connection string (ModuleId=...) needs the SDK's ModuleClient.
const Kind = /(^|;)ModuleId=/.test(cs) ? ModuleClient : Client;
let client;
if (opt.transport === 'http') {
	const { Http } = require('azure-iot-device-http');
	client = Kind.fromConnectionString(cs, Http);
} else {
	// The SDK's Mqtt transport dials HostName:8883; GatewayHostName moves it to the hub's port.
	const { Mqtt } = require('azure-iot-device-mqtt');
	client = Kind.fromConnectionString(`${cs};GatewayHostName=localhost:${process.env.SIMHUB_MQTTS_PORT}`, Mqtt);
}

const state = { connected: false, connects: 0, refusals: {}, lastError: null, sent: 0, acked: 0, maxAckMs: 0, lastAckMs: -1, reported: 0, faultSent: false };
let closing = false;

// Send one message; count it for --ack-report and log when the hub acknowledges it.
function send(m, what) {
	const t0 = Date.now();
	state.sent++;
	client.sendEvent(m, (err) => {
		if (err) return console.error(`send ${what} failed:`, err.message);
		const ms = Date.now() - t0;
		state.acked++;
		state.lastAckMs = ms;
		if (ms > state.maxAckMs) state.maxAckMs = ms;
		log('sent', what, `(acked after ${ms} ms)`);
	});
}

function statusMessage(kind, body) {
	const m = new Message(JSON.stringify(body));
	m.contentType = 'application/json';
	m.contentEncoding = 'utf-8';
	m.properties.add('kind', kind);
	return m;
}

// What runs after every successful connect (the first and, with --reconnect, each later one).
function onConnected() {
	state.connected = true;
	state.connects++;
	log('connected as', opt.identity, `(connect ${state.connects})`);
	if (opt.reconnect && state.connects > 1) {
		send(statusMessage('status', { event: 'reconnected', connects: state.connects, refusals: state.refusals, lastError: state.lastError }), 'status');
	}
	if (opt.fault && !state.faultSent) {
		state.faultSent = true;
		const [type, delay = '1', duration = '0'] = opt.fault;
		const m = statusMessage('fault', { fault: type });
		m.properties.add('AzIoTHub_FaultOperationType', type);
		m.properties.add('AzIoTHub_FaultOperationCloseReason', 'boom');
		m.properties.add('AzIoTHub_FaultOperationDelayInSecs', delay);
		m.properties.add('AzIoTHub_FaultOperationDurationInSecs', duration);
		send(m, `fault-injection ${type} delay ${delay}s duration ${duration}s`);
	}
	if (opt.securityFile && state.connects === 1) {
		const m = new Message(fs.readFileSync(opt.securityFile, 'utf8'));
		m.contentType = 'application/json';
		m.contentEncoding = 'utf-8';
		m.setAsSecurityMessage();
		send(m, `security message ${path.basename(opt.securityFile)}`);
	}
}

// --reconnect: try to open every opt.reconnect ms until it works, counting each refusal.
function reconnectLoop() {
	if (closing) return;
	client.open().then(onConnected, (err) => {
		refused(err);
		setTimeout(reconnectLoop, opt.reconnect);
	});
}

// Count a refused connect by its CONNACK return code ("connack3", "connack5": the SDK turns both
// into NotConnectedError, so the code comes from the mqtt.js error it wraps), else by error name.
function refused(err) {
	const t = err && err.transportError;
	const name = t && Number.isInteger(t.code) ? `connack${t.code}` : (err && err.name ? err.name : 'Error');
	state.refusals[name] = (state.refusals[name] || 0) + 1;
	state.lastError = name;
	log('connect refused:', name, err && err.message ? err.message : '');
}

async function main() {
	if (opt.connectDelay) await new Promise((r) => setTimeout(r, opt.connectDelay));
	const options = { ca };
	if (opt.transport === 'http') {
		options.http = { agent: new FixedPortAgent(Number(process.env.SIMHUB_HTTPS_PORT), { ca }), receivePolicy: { interval: 0.2 } };
	}
	if (opt.tokenTtl) options.tokenRenewal = { tokenValidTimeInSeconds: opt.tokenTtl, tokenRenewalMarginInSeconds: Math.floor(opt.tokenTtl / 4) };
	await client.setOptions(options);
	if (opt.reconnect) client.setRetryPolicy(new NoRetry());
	client.on('error', (e) => console.error('client error:', e.message));
	client.on('disconnect', (e) => {
		const err = e && e.transportError;
		log('disconnected', err && err.message ? err.message : (e && e.message ? e.message : ''));
		state.connected = false;
		if (opt.reconnect && !closing) setTimeout(reconnectLoop, opt.reconnect);
	});
	if (opt.reconnect) {
		await new Promise((resolve) => {
			const first = () => client.open().then(() => { onConnected(); resolve(); }, (err) => {
				refused(err);
				setTimeout(first, opt.reconnect);
			});
			first();
		});
	} else {
		await client.open();
		onConnected();
	}
	if (opt.echo || opt.wrong) {
		const twin = await client.getTwin();
		const echo = (desired) => {
			const patch = {};
			for (const [k, v] of Object.entries(desired)) if (!k.startsWith('$')) patch[k] = opt.wrong ? 'wrong' : v;
			if (!Object.keys(patch).length) return;
			twin.properties.reported.update(patch, (err) => {
				if (err) console.error('reported patch failed:', err.message);
				else log('reported', JSON.stringify(patch));
			});
		};
		// The desired state at start (a patch may have come before the subscription), then deltas.
		echo(twin.properties.desired);
		twin.on('properties.desired', (delta) => {
			log('desired', JSON.stringify(delta));
			echo(delta);
		});
		// Tell the scenario the desired subscription is in place: patches from now on arrive.
		twin.properties.reported.update({ agent: 'ready', pid }, (err) => err && console.error('ready report failed:', err.message));
	}
	for (const name of opt.methods) {
		client.onDeviceMethod(name, (req, res) => {
			log('method', name, JSON.stringify(req.payload));
			res.send(200, { accepted: true, method: name, pid }, (err) => err && console.error('method answer failed:', err.message));
		});
	}
	for (const name of opt.silent) client.onDeviceMethod(name, () => log('method', name, 'taken, not answered'));
	if (opt.c2d) {
		const abandoned = new Set();
		client.on('message', (msg) => {
			// Over HTTP the SDK keeps the header name as the key (iothub-app-outcome).
			const wanted = msg.properties.getValue('outcome') || msg.properties.getValue('iothub-app-outcome') || 'complete';
			let how = wanted;
			if (wanted === 'abandon' && abandoned.has(msg.messageId)) how = 'complete';
			if (how === 'abandon') abandoned.add(msg.messageId);
			log('c2d', msg.messageId, msg.data.toString(), '->', how);
			const done = (err) => (err ? console.error(`${how} failed:`, err.message) : log(how, msg.messageId));
			if (how === 'reject') client.reject(msg, done);
			else if (how === 'abandon') client.abandon(msg, done);
			else client.complete(msg, done);
		});
	}
	if (opt.telemetry) {
		let n = 0;
		setInterval(() => {
			if (opt.reconnect && !state.connected) return;
			for (let b = 0; b < opt.burst; b++) {
				const m = statusMessage('reading', { n, temperature: 20 + n });
				for (const [k, v] of opt.props) m.properties.add(k, v);
				send(m, `reading ${n}`);
				n++;
			}
		}, opt.telemetry);
	}
	if (opt.ackReport) {
		setInterval(() => {
			if (opt.reconnect && !state.connected) return;
			const body = { sent: state.sent + 1, acked: state.acked, unacked: state.sent + 1 - state.acked, recentAcks: state.acked - state.reported, maxAckMs: state.maxAckMs, lastAckMs: state.lastAckMs };
			state.reported = state.acked;
			send(statusMessage('acks', body), `acks ${JSON.stringify(body)}`);
		}, opt.ackReport);
	}
}

process.on('SIGTERM', () => {
	if (opt.ignoreTerm) return log('SIGTERM: ignored (--ignore-sigterm)');
	closing = true;
	log('SIGTERM: closing');
	client.close(() => process.exit(0));
	setTimeout(() => process.exit(0), 2000).unref();
});
main().catch((e) => { console.error('node-device:', e.message); process.exit(1); });
