'use strict';
// tests/interop/security.test.js: the official Node device SDK's ModuleClient, unmodified,
// plays a security agent against simhub (issue 5): it connects as the azureiotsecurity module
// that security.autoCreateModule gave the device, reads the module twin (default agent
// configuration), receives a desired configuration change, reports it back, and sends security
// messages marked the SDK's way (Message.setAsSecurityMessage(): `$.ifid` in the MQTT property
// bag, percent-encoded by the transport). The events land in SQLite, the configuration drift
// says "applied", and three failed logins raise a brute-force alert.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Message } = require('azure-iot-device');
const { startHub, KEYS, withTimeout, sleep } = require('./hub.js');

const CFG = 'ms_iotn:urn_azureiot_Security_SecurityAgentConfiguration';
const AGENT = '5a7f5c2e-3f0c-4b8e-9a55-2f4d6c1e9b10';
const T = 15000;

function fixture() {
	return {
		version: 1,
		settings: { security: { autoCreateModule: true } },
		policies: [{
			name: 'iothubowner',
			primaryKey: KEYS.owner,
			rights: ['RegistryRead', 'RegistryWrite', 'ServiceConnect', 'DeviceConnect'],
		}],
		devices: [{ id: 'sec1', authentication: { type: 'sas', primaryKey: KEYS.dev1 } }],
	};
}

// A security message of one event per item of EVENTS ({name, type, category, id, payload}).
function securityMessage(events) {
	const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
	return JSON.stringify({
		AgentVersion: '0.0.5', AgentId: AGENT, MessageSchemaVersion: '1.0',
		Events: events.map((e) => ({
			EventType: e.type || 'Security', Category: e.category || 'Triggered', Name: e.name,
			IsEmpty: false, PayloadSchemaVersion: '1.0', Id: e.id,
			TimestampLocal: when, TimestampUTC: when, Payload: e.payload,
		})),
	});
}

function failedLogin(n) {
	return {
		name: 'Login', id: `3d4e5f60-7182-493a-8cbd-2e3f4a5b6c${String(n).padStart(2, '0')}`,
		payload: [{ ProcessId: 5120 + n, UserName: 'root', Operation: 'PAM:authentication',
			Executable: '/usr/sbin/sshd', RemoteAddress: '198.51.100.23', RemotePort: '40522',
			LocalPort: '22', Result: 'Fail' }],
	};
}

describe('Node ModuleClient as a security agent against simhub', () => {
	let hub;
	let client;
	let twin;

	before(async () => {
		hub = await startHub({ fixture: fixture(), extraArgs: ['--security-alert', 'bruteForce.failures=3'] });
		client = await hub.client('sec1/azureiotsecurity', 'Mqtt');
		await withTimeout(client.open(), T, 'open');
	});

	after(async () => {
		await hub.closeClient(client);
		const exit = await hub.stop();
		assert.deepEqual(exit, { code: 0, signal: null }, `simhub did not stop cleanly: ${hub.stderr()}`);
	});

	it('reads the module twin with the default agent configuration', async () => {
		twin = await withTimeout(client.getTwin(), T, 'getTwin');
		const cfg = twin.properties.desired[CFG];
		assert.ok(cfg, `no configuration object in ${JSON.stringify(twin.properties.desired)}`);
		assert.equal(cfg.highPriorityMessageFrequency.value, 'PT7M');
		assert.equal(cfg.eventPriorityLogin.value, 'High');
	});

	it('receives a desired configuration change and reports it back', async () => {
		const got = new Promise((resolve) => {
			twin.on('properties.desired', (delta) => {
				// The SDK first replays the whole desired section; wait for the change itself.
				const h = delta[CFG] && delta[CFG].highPriorityMessageFrequency;
				if (h && h.value === 'PT10S') resolve(delta);
			});
		});
		await sleep(1000); // the SDK subscribes to desired patches with its first listener
		hub.cli(['twin', 'patch-desired', 'sec1/azureiotsecurity',
			JSON.stringify({ [CFG]: { highPriorityMessageFrequency: { value: 'PT10S' } } })]);
		const delta = await withTimeout(got, T, 'desired patch');
		assert.equal(delta[CFG].highPriorityMessageFrequency.value, 'PT10S');
		// The agent reports its effective configuration (C agent style: lower-case priorities).
		const effective = JSON.parse(JSON.stringify(twin.properties.desired[CFG]));
		for (const [k, v] of Object.entries(effective)) {
			if (k.startsWith('eventPriority')) v.value = String(v.value).toLowerCase();
		}
		await withTimeout(new Promise((resolve, reject) => {
			twin.properties.reported.update({ [CFG]: effective }, (e) => (e ? reject(e) : resolve()));
		}), T, 'reported update');
		const cfg = JSON.parse(hub.cli(['security', 'config', 'sec1', '--json']));
		assert.equal(cfg.reportedPresent, true);
		const high = cfg.fields.find((f) => f.field === 'highPriorityMessageFrequency');
		assert.equal(high.state, 'applied');
		assert.equal(high.reported, 'PT10S');
		assert.equal(cfg.applied, true, JSON.stringify(cfg.fields.filter((f) => f.state !== 'applied' && f.state !== 'default')));
	});

	it('sends security messages the SDK way; events land in SQLite, not in telemetry', async () => {
		const msg = new Message(securityMessage([
			failedLogin(1),
			{ name: 'ProcessCreate', id: '0c5d0e6e-8f7b-4f9a-9b55-7d3a2b1c4e01',
				payload: [{ Executable: '/usr/bin/curl', ProcessId: 4242, ParentProcessId: 1017,
					UserId: '1000', CommandLine: 'curl -s http://203.0.113.7/update.sh' }] },
		]));
		msg.setAsSecurityMessage();
		assert.equal(msg.interfaceId, 'urn:azureiot:Security:SecurityAgent:1');
		await withTimeout(client.sendEvent(msg), T, 'sendEvent');
		// PUBACK comes after the commit: the rows are there.
		const rows = hub.sql("SELECT name, verdict, module_id FROM security_events WHERE device_id = 'sec1' ORDER BY id");
		assert.deepEqual(rows.map((r) => r.name), ['Login', 'ProcessCreate']);
		assert.ok(rows.every((r) => r.verdict === 'valid' && r.module_id === 'azureiotsecurity'), JSON.stringify(rows));
		const msgs = hub.sql("SELECT verdict, interface_id FROM security_messages s JOIN d2c_messages d ON d.seq = s.d2c_seq WHERE s.device_id = 'sec1'");
		assert.deepEqual(msgs, [{ verdict: 'valid', interface_id: 'urn:azureiot:Security:SecurityAgent:1' }]);
		const listed = JSON.parse(hub.cli(['messages', '--device', 'sec1', '--json']));
		assert.equal(listed.length, 0, 'security messages must not be listed as telemetry');
		const events = JSON.parse(hub.cli(['security', 'events', '--device', 'sec1', '--name', 'ProcessCreate', '--json']));
		assert.equal(events.length, 1);
		assert.equal(events[0].payload[0].Executable, '/usr/bin/curl');
	});

	it('two more failed logins raise one brute-force alert', async () => {
		for (const n of [2, 3]) {
			const msg = new Message(securityMessage([failedLogin(n)]));
			msg.setAsSecurityMessage();
			await withTimeout(client.sendEvent(msg), T, 'sendEvent');
		}
		let alerts = [];
		for (let i = 0; i < 40 && alerts.length === 0; i++) {
			alerts = JSON.parse(hub.cli(['security', 'alerts', '--rule', 'bruteForce', '--json']));
			if (alerts.length === 0) await sleep(50);
		}
		assert.equal(alerts.length, 1, JSON.stringify(alerts));
		assert.equal(alerts[0].deviceId, 'sec1');
		assert.equal(alerts[0].evidence.length, 3);
		const summary = JSON.parse(hub.cli(['security', 'summary', 'sec1', '--json']));
		assert.equal(summary.events.Login, 3);
		assert.equal(summary.alertCount, 1);
	});
});
