'use strict';
// tests/interop/gateway.test.js: the Node device SDK against a simhub named like a real hub
// (--hostname interop-hub.azure-devices.net, which does not resolve here), reached through
// GatewayHostName as `simhub cs --gateway` prints it: the SDK dials the gateway and signs its SAS
// for HostName. Covers a DNS name and an IP literal (no SNI), over MQTT/TLS and MQTT/WebSocket.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Message } = require('azure-iot-device');
const { startHub, withTimeout } = require('./hub.js');

const HUB_NAME = 'interop-hub.azure-devices.net';
const T = 15000;

describe(`a hub named ${HUB_NAME} reached through GatewayHostName`, () => {
	let hub;

	before(async () => {
		hub = await startHub({ extraArgs: ['--hostname', HUB_NAME] });
		assert.equal(hub.host, HUB_NAME);
	});

	after(async () => {
		const exit = await hub.stop();
		assert.deepEqual(exit, { code: 0, signal: null }, `simhub did not stop cleanly: ${hub.stderr()}`);
	});

	const cases = [
		{ transport: 'Mqtt', label: 'localhost:PORT', gateway: () => `localhost:${hub.ready.mqtts}` },
		{ transport: 'Mqtt', label: '127.0.0.1:PORT', gateway: () => `127.0.0.1:${hub.ready.mqtts}` },
		// MqttWs always dials :443 of the gateway; the webSocketAgent option (hub.js) moves it.
		{ transport: 'MqttWs', label: 'localhost', gateway: () => 'localhost' },
	];

	for (const c of cases) {
		for (const identity of ['dev1', 'dev1/mod1']) {
			const label = c.label;
			it(`${identity} over ${c.transport}, GatewayHostName=${label}: open, sendEvent, getTwin`, async () => {
				const cs = hub.connectionString(identity, c.gateway());
				assert.match(cs, new RegExp(`^HostName=${HUB_NAME.replace(/\./g, '\\.')};`));
				assert.match(cs, /;GatewayHostName=/);
				const client = await hub.clientFromConnectionString(cs, c.transport);
				try {
					await withTimeout(client.open(), T, 'open');
					const msg = new Message('via gateway');
					msg.messageId = `gw-${c.transport}-${label}-${identity}`;
					await withTimeout(client.sendEvent(msg), T, 'sendEvent');
					const [device, module] = identity.split('/');
					const rows = hub.d2c(device, module);
					assert.equal(rows[rows.length - 1].message_id, msg.messageId);
					const twin = await withTimeout(client.getTwin(), T, 'getTwin');
					assert.equal(twin.properties.desired[module ? 'mode' : 'temp'], module ? 'eco' : 20);
				} finally {
					await hub.closeClient(client);
				}
			});
		}
	}
});
