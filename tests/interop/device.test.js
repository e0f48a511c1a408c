'use strict';
// tests/interop/device.test.js: the unmodified Azure IoT Node device SDK (azure-iot-device +
// azure-iot-device-mqtt) against a real simhub, over MQTT/TLS and MQTT/WebSocket, as a device and
// as a module: open, telemetry with properties (checked in SQLite), getTwin, reported patch
// (checked with `simhub twin show`), refused credentials. It never patches the SDK.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Message } = require('azure-iot-device');
const { startHub, KEYS, withTimeout } = require('./hub.js');

const TRANSPORTS = ['Mqtt', 'MqttWs'];
const IDENTITIES = [
	{ id: 'dev1', device: 'dev1', module: null, desired: { temp: 20, telemetry: { intervalSec: 5 } }, reported: { fw: '0.9' } },
	{ id: 'dev1/mod1', device: 'dev1', module: 'mod1', desired: { mode: 'eco', limits: { max: 7 } }, reported: { started: true } },
];
const T = 15000; // deadline of one SDK call

// The SDK's callback-style reported patch as a promise.
function updateReported(twin, patch) {
	return new Promise((resolve, reject) => {
		twin.properties.reported.update(patch, (err) => (err ? reject(err) : resolve()));
	});
}

// A twin section without its $version / $metadata bookkeeping.
function plain(section) {
	const out = {};
	for (const [k, v] of Object.entries(section)) {
		if (!k.startsWith('$') && typeof v !== 'function') out[k] = v;
	}
	return JSON.parse(JSON.stringify(out));
}

for (const transport of TRANSPORTS) {
	describe(`device SDK over ${transport}`, () => {
		let hub;

		before(async () => {
			hub = await startHub();
		});

		after(async () => {
			const exit = await hub.stop();
			assert.deepEqual(exit, { code: 0, signal: null }, `simhub did not stop cleanly: ${hub.stderr()}`);
		});

		for (const ident of IDENTITIES) {
			describe(ident.module ? 'as a module' : 'as a device', () => {
				let client;

				before(async () => {
					client = await hub.client(ident.id, transport);
					await withTimeout(client.open(), T, 'open');
				});

				after(async () => {
					await hub.closeClient(client);
				});

				it('sendEvent with message id, correlation id, content type/encoding and app properties is stored', async () => {
					const before = hub.d2c(ident.device, ident.module).length;
					const msg = new Message(JSON.stringify({ temperature: 21.5 }));
					msg.messageId = `msg-${transport}-1`;
					msg.correlationId = 'corr-1';
					msg.contentType = 'application/json';
					msg.contentEncoding = 'utf-8';
					msg.properties.add('alert', 'high');
					msg.properties.add('with space&amp=eq/slash', 'v 1&2=3/ü');
					const result = await withTimeout(client.sendEvent(msg), T, 'sendEvent');
					assert.equal(result.constructor.name, 'MessageEnqueued');

					// PUBACK comes after the commit, so the row is there once sendEvent resolved.
					const rows = hub.d2c(ident.device, ident.module);
					assert.equal(rows.length, before + 1);
					const row = rows[rows.length - 1];
					assert.equal(row.device_id, ident.device);
					assert.equal(row.module_id || null, ident.module);
					assert.equal(row.message_id, `msg-${transport}-1`);
					assert.equal(row.content_type, 'application/json');
					assert.equal(row.content_encoding, 'utf-8');
					assert.equal(row.body_text, '{"temperature":21.5}');
					assert.deepEqual(JSON.parse(row.app_properties), {
						alert: 'high',
						'with space&amp=eq/slash': 'v 1&2=3/ü',
					});
					const sys = JSON.parse(row.system_properties);
					assert.equal(sys['correlation-id'], 'corr-1');
					assert.equal(sys['iothub-connection-device-id'], ident.device);
					assert.equal(sys['iothub-connection-module-id'], ident.module || undefined);
				});

				it('sendEvent with a binary body and no properties is stored byte for byte', async () => {
					const before = hub.d2c(ident.device, ident.module).length;
					await withTimeout(client.sendEvent(new Message(Buffer.from([0, 1, 2, 0xff]))), T, 'sendEvent');
					const rows = hub.d2c(ident.device, ident.module);
					assert.equal(rows.length, before + 1);
					const row = rows[rows.length - 1];
					assert.equal(row.body_bytes, 4);
					assert.equal(row.message_id, null);
					assert.deepEqual(JSON.parse(row.app_properties), {});
					const [raw] = hub.sql(`SELECT hex(body) AS hex FROM d2c_messages WHERE seq = ${Number(row.seq)}`);
					assert.equal(raw.hex, '000102FF');
				});

				it('a security message carries the security interface id', async () => {
					const msg = new Message(JSON.stringify({ securityEvent: 'login' }));
					msg.setAsSecurityMessage();
					await withTimeout(client.sendEvent(msg), T, 'sendEvent');
					const rows = hub.d2c(ident.device, ident.module);
					assert.equal(rows[rows.length - 1].interface_id, 'urn:azureiot:Security:SecurityAgent:1');
				});

				it('getTwin shows the desired and reported properties of the fixture', async () => {
					const twin = await withTimeout(client.getTwin(), T, 'getTwin');
					assert.deepEqual(plain(twin.properties.desired), ident.desired);
					assert.deepEqual(plain(twin.properties.reported), ident.reported);
					assert.equal(typeof twin.properties.desired.$version, 'number');
					const service = hub.twin(ident.id);
					assert.equal(twin.properties.desired.$version, service.properties.desired.$version);
				});

				it('a reported patch is visible in simhub twin show', async () => {
					const twin = await withTimeout(client.getTwin(), T, 'getTwin');
					const versionBefore = hub.twin(ident.id).properties.reported.$version;
					const value = `${transport}-${Date.now()}`;
					await withTimeout(updateReported(twin, { fw: value, battery: { level: 88 } }), T, 'reported update');
					const shown = hub.twin(ident.id);
					assert.equal(shown.properties.reported.fw, value);
					assert.deepEqual(shown.properties.reported.battery, { level: 88 });
					assert.equal(shown.properties.reported.$version, versionBefore + 1);
					// A null removes a reported property (JSON merge patch), as on IoT Hub.
					await withTimeout(updateReported(twin, { battery: null }), T, 'reported update');
					assert.equal(hub.twin(ident.id).properties.reported.battery, undefined);
				});
			});
		}

		it('a wrong key is refused with UnauthorizedError and the hub keeps serving', async () => {
			for (const ident of IDENTITIES) {
				const bad = await hub.client(ident.id, transport, KEYS.wrong);
				await assert.rejects(withTimeout(bad.open(), T, 'open'), (err) => {
					assert.equal(err.constructor.name, 'UnauthorizedError', `${ident.id}: ${err}`);
					return true;
				});
				await hub.closeClient(bad);
			}
			const good = await hub.client('dev1', transport);
			await withTimeout(good.open(), T, 'open after refusals');
			await withTimeout(good.sendEvent(new Message('still here')), T, 'sendEvent');
			await hub.closeClient(good);
		});

		it('an unknown device is refused with UnauthorizedError', async () => {
			let cs = `HostName=${hub.host};DeviceId=ghost;SharedAccessKey=${KEYS.dev1}`;
			if (transport === 'Mqtt') cs += `;GatewayHostName=localhost:${hub.ready.mqtts}`;
			const ghost = await hub.clientFromConnectionString(cs, transport);
			await assert.rejects(withTimeout(ghost.open(), T, 'open'), { name: 'UnauthorizedError' });
			await hub.closeClient(ghost);
		});
	});
}
