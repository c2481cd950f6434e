// jsforce, a second real Salesforce client, against the emulator (run by test_jsforce.py).
// Reads the emulator's URL and credentials from the environment; prints one JSON object of what
// it saw, for the test to check; exits 1 with the error's message on any failure.
"use strict";

const jsforce = require("jsforce");

const env = process.env;
const VERSION = "59.0";

async function main() {
  const seen = {};
  // OAuth 2.0 username-password flow through /services/oauth2/token.
  const conn = new jsforce.Connection({
    oauth2: { loginUrl: env.SF_URL, clientId: env.SF_CLIENT_ID, clientSecret: env.SF_CLIENT_SECRET },
    version: VERSION,
  });
  const login = await conn.login(env.SF_USERNAME, env.SF_PASSWORD);
  seen.login = { userId: login.id, organizationId: login.organizationId };
  seen.identity = (await conn.identity()).username;

  // The access token alone, as a second connection.
  const byToken = new jsforce.Connection({
    instanceUrl: conn.instanceUrl,
    accessToken: conn.accessToken,
    version: VERSION,
  });
  const describe = await byToken.sobject("Account").describe();
  seen.describe = { name: describe.name, hasName: describe.fields.some((f) => f.name === "Name") };
  seen.globalHasContact = (await byToken.describeGlobal()).sobjects.some((s) => s.name === "Contact");

  // Single-record CRUD.
  const created = await conn.sobject("Account").create({ Name: "jsforce one" });
  await conn.sobject("Account").update({ Id: created.id, Name: "jsforce renamed" });
  seen.retrieved = (await conn.sobject("Account").retrieve(created.id)).Name;
  seen.destroyed = (await conn.sobject("Account").destroy(created.id)).success;

  // sObject Collections: arrays go to /composite/sobjects.
  const batch = [];
  for (let i = 0; i < 120; i++) batch.push({ Name: `jsforce ${String(i).padStart(3, "0")}` });
  const results = await conn.sobject("Account").create(batch, { allOrNone: true });
  const ids = results.map((r) => r.id);
  seen.collectionCreated = results.filter((r) => r.success).length;
  const fetched = await conn.sobject("Account").retrieve(ids.slice(0, 3), { fields: ["Name"] });
  seen.collectionRetrieved = fetched.map((r) => r.Name);
  const updated = await conn.sobject("Account").update(ids.slice(0, 2).map((Id) => ({ Id, Industry: "Banking" })));
  seen.collectionUpdated = updated.filter((r) => r.success).length;

  // Query with paging: the emulator runs with a small page size.
  let page = await conn.query("SELECT Id, Name FROM Account ORDER BY Name");
  let rows = page.records.length;
  let pages = 1;
  while (!page.done) {
    page = await conn.queryMore(page.nextRecordsUrl);
    rows += page.records.length;
    pages += 1;
  }
  seen.query = { totalSize: page.totalSize, rows, pages };
  seen.banking = (await conn.query("SELECT COUNT(Id) n FROM Account WHERE Industry = 'Banking'")).records[0].n;

  // Bulk API 2.0 ingest, waiting for the results (successful, failed, unprocessed).
  const csv = "Name,NumberOfEmployees\nbulk a,1\nbulk b,not a number\nbulk c,3\n";
  const bulk = await conn.bulk2.loadAndWaitForResults({
    object: "Account",
    operation: "insert",
    input: csv,
    pollInterval: 50,
    pollTimeout: 20000,
  });
  seen.bulk = {
    successful: bulk.successfulResults.length,
    failed: bulk.failedResults.length,
    unprocessed: bulk.unprocessedRecords.length,
  };

  const removed = await conn.sobject("Account").destroy(ids);
  seen.collectionDestroyed = removed.filter((r) => r.success).length;
  seen.search = (await conn.search("FIND {bulk*} RETURNING Account(Name)")).searchRecords.length;
  return seen;
}

main().then(
  (seen) => process.stdout.write(JSON.stringify(seen) + "\n"),
  (error) => {
    process.stderr.write(`jsforce: ${error.name || "Error"}: ${error.message}\n`);
    process.exit(1);
  },
);
