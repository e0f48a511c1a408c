'use strict';
// tests/interop/twins.test.js: the official service SDK azure-iothub, unmodified, reads and
// writes twins on a real simhub and queries them. It covers getTwin, Twin.update (tags and
// desired merge, with the twin's etag), updateTwin with an etag, "*" and a stale etag
// (InvalidEtagError), replaceTwin, module twins, and createQuery with paging (nextAsTwin until
// hasMoreResults is false) and a COUNT() aggregate. The SDK reaches simhub through hub.js's 443
// redirect and trusts its CA through NODE_EXTRA_CA_CERTS (runWithSharedCa).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startHub, runWithSharedCa } = require('./hub.js');

// Resolves the SDK call's rejection, or fails when it resolves.
async function rejection(promise) {
	try {
		const r = await promise;
		assert.fail(`expected a rejection, got ${JSON.stringify(r && r.responseBody)}`);
	} catch (e) {
		if (e instanceof assert.AssertionError) throw e;
		return e;
	}
}

// The desired or reported properties without the $metadata/$version bookkeeping.
function plain(section) {
	const out = {};
	for (const [k, v] of Object.entries(section || {})) if (!k.startsWith('$')) out[k] = v;
	return out;
}

if (runWithSharedCa()) {
	describe('azure-iothub twins and queries against simhub', () => {
		let hub;
		let registry;

		before(async () => {
			hub = await startHub({ sharedCa: true });
			registry = hub.registry();
		});

		after(async () => {
			const exit = await hub.stop();
			assert.deepEqual(exit, { code: 0, signal: null }, `simhub did not stop cleanly: ${hub.stderr()}`);
		});

		it('getTwin returns the fixture twin as a Twin with its etag', async () => {
			const { responseBody: twin, httpResponse } = await registry.getTwin('dev1');
			assert.equal(httpResponse.statusCode, 200);
			assert.equal(twin.constructor.name, 'Twin');
			assert.equal(twin.deviceId, 'dev1');
			assert.deepEqual(twin.tags, { site: 'lab' });
			assert.deepEqual(plain(twin.properties.desired), { temp: 20, telemetry: { intervalSec: 5 } });
			assert.deepEqual(plain(twin.properties.reported), { fw: '0.9' });
			assert.equal(typeof twin.properties.desired.$version, 'number');
			assert.match(twin.etag, /^[A-Za-z0-9+/]+={0,2}$/);
			assert.equal(httpResponse.headers.etag, `"${twin.etag}"`);
			// Twin.get() refreshes the same object.
			const again = (await twin.get()).result;
			assert.equal(again, twin);
			assert.equal(again.etag, httpResponse.headers.etag.replace(/"/g, ''));
		});

		it('Twin.update merges tags and desired properties, sent with the twin\'s etag', async () => {
			const twin = (await registry.getTwin('dev1')).responseBody;
			const etag = twin.etag;
			const desiredVersion = twin.properties.desired.$version;
			const res = await twin.update({
				tags: { floor: 3 },
				properties: { desired: { telemetry: { mode: 'fast' }, fan: true } },
			});
			assert.equal(res.result, twin, 'the SDK updates its own Twin object');
			assert.equal(res.message.statusCode, 200);
			assert.notEqual(twin.etag, etag);
			assert.deepEqual(twin.tags, { site: 'lab', floor: 3 });
			assert.deepEqual(plain(twin.properties.desired), { temp: 20, telemetry: { intervalSec: 5, mode: 'fast' }, fan: true });
			assert.equal(twin.properties.desired.$version, desiredVersion + 1);
			// A null removes a member.
			await twin.update({ tags: { floor: null }, properties: { desired: { fan: null } } });
			assert.deepEqual(twin.tags, { site: 'lab' });
			assert.equal(twin.properties.desired.fan, undefined);
			const fresh = (await registry.getTwin('dev1')).responseBody;
			assert.equal(fresh.etag, twin.etag);
			assert.deepEqual(plain(fresh.properties.desired), plain(twin.properties.desired));
		});

		it('updateTwin with the current etag succeeds, with a stale etag fails with InvalidEtagError, with "*" always succeeds', async () => {
			const twin = (await registry.getTwin('dev1')).responseBody;
			const ok = (await registry.updateTwin('dev1', { properties: { desired: { temp: 21 } } }, twin.etag)).responseBody;
			assert.equal(ok.properties.desired.temp, 21);
			assert.notEqual(ok.etag, twin.etag);

			const e = await rejection(registry.updateTwin('dev1', { properties: { desired: { temp: 99 } } }, twin.etag));
			assert.equal(e.constructor.name, 'InvalidEtagError', `${e.constructor.name}: ${e.message}`);
			assert.equal(e.response.statusCode, 412);
			assert.equal(e.response.headers['iothub-errorcode'], 'PreconditionFailed');
			assert.match(JSON.parse(e.responseBody).Message, /^ErrorCode:PreconditionFailed;/);
			assert.equal((await registry.getTwin('dev1')).responseBody.properties.desired.temp, 21, 'the stale write changed nothing');

			const forced = (await registry.updateTwin('dev1', { properties: { desired: { temp: 22 } } }, '*')).responseBody;
			assert.equal(forced.properties.desired.temp, 22);
			// A Twin that was never fetched has etag "*" (the SDK's default) and updates too.
			const blank = new (require('azure-iothub').Twin)('dev1', registry);
			assert.equal(blank.etag, '*');
			await blank.update({ tags: { blank: true } });
			assert.equal(blank.tags.blank, true);
			assert.equal(blank.tags.site, 'lab');
		});

		it('reads and updates module twins (getModuleTwin, Twin.update, updateModuleTwin with etags)', async () => {
			const twin = (await registry.getModuleTwin('dev1', 'mod1')).responseBody;
			assert.equal(twin.constructor.name, 'Twin');
			assert.equal(twin.deviceId, 'dev1');
			assert.equal(twin.moduleId, 'mod1');
			assert.deepEqual(plain(twin.properties.reported), { started: true });
			const etag = twin.etag;
			// Twin.update on a module twin goes to PATCH /twins/dev1/modules/mod1.
			await twin.update({ tags: { role: 'edge' }, properties: { desired: { limits: { min: 1 } } } });
			assert.equal(twin.tags.role, 'edge');
			assert.deepEqual(twin.properties.desired.limits, { max: 7, min: 1 });
			assert.notEqual(twin.etag, etag);

			const ok = (await registry.updateModuleTwin('dev1', 'mod1', { properties: { desired: { level: 3 } } }, twin.etag)).responseBody;
			assert.equal(ok.properties.desired.level, 3);
			const e = await rejection(registry.updateModuleTwin('dev1', 'mod1', { properties: { desired: { level: 4 } } }, twin.etag));
			assert.equal(e.constructor.name, 'InvalidEtagError', `${e.constructor.name}: ${e.message}`);
			assert.equal(e.response.statusCode, 412);
			const forced = (await registry.updateModuleTwin('dev1', 'mod1', { properties: { desired: { level: 5 } } }, '*')).responseBody;
			assert.equal(forced.properties.desired.level, 5);
			// The device twin is a different twin.
			assert.equal((await registry.getTwin('dev1')).responseBody.properties.desired.level, undefined);

			const missing = await rejection(registry.getModuleTwin('dev1', 'no-such-module'));
			assert.equal(missing.response.statusCode, 404);
			assert.match(missing.responseBody, /ModuleNotFound/);
		});

		it('replaceTwin (PUT /twins/{id}) replaces tags and desired properties', async () => {
			// azure-iothub 1.16.6 exposes PUT /twins only in its generated protocol layer
			// (IotHubGatewayServiceAPIs.devices.replaceTwin, with an optional ifMatch), which its
			// own IoTHubRegistryManager and DigitalTwinClient are built on.
			const { IotHubGatewayServiceAPIs } = require('azure-iothub/dist/pl/iotHubGatewayServiceAPIs');
			const { IoTHubTokenCredentials } = require('azure-iothub');
			const creds = new IoTHubTokenCredentials(hub.serviceConnectionString());
			const pl = new IotHubGatewayServiceAPIs(creds, { baseUri: `https://${creds.getHubName()}`, apiVersion: '2021-04-12' });

			const before = (await registry.getTwin('dev1')).responseBody;
			const replaced = await pl.devices.replaceTwin('dev1', {
				tags: { only: 'this' },
				properties: { desired: { mode: 'replaced' } },
			}, { ifMatch: `"${before.etag}"` });
			assert.equal(replaced._response.status, 200);
			assert.deepEqual(replaced.tags, { only: 'this' });
			assert.deepEqual(plain(replaced.properties.desired), { mode: 'replaced' });
			// Reported properties belong to the device: a replace keeps them.
			assert.deepEqual(plain(replaced.properties.reported), { fw: '0.9' });
			assert.notEqual(replaced.etag, before.etag);

			// The etag it replaced is stale now.
			const e = await rejection(pl.devices.replaceTwin('dev1', { tags: {}, properties: { desired: {} } }, { ifMatch: `"${before.etag}"` }));
			assert.equal(e.statusCode, 412, e.message);
			const twin = (await registry.getTwin('dev1')).responseBody;
			assert.deepEqual(twin.tags, { only: 'this' });
			assert.deepEqual(plain(twin.properties.desired), { mode: 'replaced' });

			// The module variant.
			const mod = await pl.modules.replaceTwin('dev1', 'mod1', { tags: { m: 1 }, properties: { desired: { mode: 'm' } } }, { ifMatch: '"*"' });
			assert.deepEqual(mod.tags, { m: 1 });
			assert.deepEqual(plain(mod.properties.desired), { mode: 'm' });
			assert.equal(mod.moduleId, 'mod1');
		});

		it('queries twins by tag a page at a time (nextAsTwin until hasMoreResults is false)', async () => {
			const ids = Array.from({ length: 12 }, (_, i) => `q-${String(i).padStart(2, '0')}`);
			// Bulk import with tags (ExportImportDevice carries the twin's tags).
			const made = (await registry.addDevices(ids.map((deviceId, i) => ({ deviceId, tags: { x: i % 4 === 3 ? 'z' : 'y', n: i } })))).responseBody;
			assert.deepEqual(made, { isSuccessful: true, errors: [], warnings: [] });
			const expected = ids.filter((_, i) => i % 4 !== 3);   // 9 twins with x = 'y'

			const query = registry.createQuery("SELECT * FROM devices WHERE tags.x = 'y'", 4);
			const pages = [];
			while (query.hasMoreResults) {
				const { result: twins, message } = await query.nextAsTwin();
				assert.equal(message.headers['x-ms-item-type'], 'Twin');
				assert.ok(twins.every((t) => t.constructor.name === 'Twin' && t.tags.x === 'y'));
				pages.push(twins.map((t) => t.deviceId));
				assert.ok(pages.length <= 3, 'no more pages than results');
			}
			assert.deepEqual(pages.map((p) => p.length), [4, 4, 1]);
			assert.deepEqual(pages.flat().sort(), expected);
			assert.equal(query.continuationToken, undefined);
			// A Twin from a query is a real Twin: it can update itself.
			const first = (await registry.createQuery("SELECT * FROM devices WHERE deviceId = 'q-00'").nextAsTwin()).result[0];
			await first.update({ tags: { seen: true } });
			assert.equal((await registry.getTwin('q-00')).responseBody.tags.seen, true);
		});

		it('counts with SELECT COUNT() (next) and groups with GROUP BY', async () => {
			const count = await registry.createQuery("SELECT COUNT() AS total FROM devices WHERE tags.x = 'y'").next();
			assert.deepEqual(count.result, [{ total: 9 }]);
			assert.equal(count.message.headers['x-ms-item-type'], 'Raw');
			assert.equal(count.message.headers['x-ms-continuation'], undefined);

			const grouped = (await registry.createQuery("SELECT tags.x, COUNT() AS n FROM devices WHERE STARTSWITH(deviceId, 'q-') GROUP BY tags.x").next()).result;
			const byX = Object.fromEntries(grouped.map((g) => [g.x, g.n]));
			assert.deepEqual(byX, { y: 9, z: 3 });

			const modules = (await registry.createQuery("SELECT * FROM devices.modules WHERE moduleId = 'mod1'").nextAsTwin()).result;
			assert.deepEqual(modules.map((t) => [t.deviceId, t.moduleId]), [['dev1', 'mod1']]);

			const bad = await rejection(registry.createQuery('SELECT * FROM devices WHERE').next());
			assert.equal(bad.constructor.name, 'ArgumentError', `${bad.constructor.name}: ${bad.message}`);
			assert.equal(bad.response.statusCode, 400);
		});
	});
}
