import { createHash } from 'node:crypto';
import { BigQueryError } from '../../../../emulators/bigquery/errors';
import { decodeParameters, type RestQueryParameter } from '../../../../emulators/bigquery/params';
import {
  parseSchemaFields,
  rowFromJson,
  type RestField,
} from '../../../../emulators/bigquery/schema';
import {
  billStatement,
  compileStatement,
  runDml,
  runSelect,
} from '../../../../emulators/bigquery/sql/engine';
import { parseSql } from '../../../../emulators/bigquery/sql/parser';
import { Warehouse } from '../../../../emulators/bigquery/warehouse';

/**
 * The engine without a server: statements over an in-memory warehouse, checked for their rows
 * and for the bytes BigQuery's rules bill for them. Sizes: STRING 2 + UTF-8 bytes, INT64 and
 * DATE 8, BOOL 1, STRUCT and ARRAY the sum of their parts, NULL 0.
 */

const NOW = Date.UTC(2024, 2, 31, 12);
let warehouse: Warehouse;

async function table(
  tableId: string,
  schema: RestField[],
  rows: Array<Record<string, unknown>>,
  extra: { partitioning?: Parameters<Warehouse['createTable']>[4]; ingestedAt?: bigint[] } = {},
  datasetId = 'd',
) {
  if (warehouse.findDataset('p', datasetId) === undefined) {
    warehouse.createDataset({ projectId: 'p', datasetId, location: 'US' }, NOW);
  }
  const fields = parseSchemaFields(schema);
  const record = warehouse.createTable(
    { projectId: 'p', datasetId, tableId },
    fields,
    {},
    NOW,
    extra.partitioning,
  );
  const values = rows.map((json) => {
    const { row, errors } = rowFromJson(fields, json);
    if (errors.length > 0) throw new Error(errors.join(' '));
    return row;
  });
  warehouse.insertRows(record, values, null, NOW, extra.ingestedAt);
  return record;
}

const param = (name: string, type: string, value: unknown): RestQueryParameter => ({
  name,
  parameterType: { type },
  parameterValue: { value },
});

function compile(sql: string, params: RestQueryParameter[] = []) {
  return compileStatement(parseSql(sql), {
    projectId: 'p',
    location: 'US',
    warehouse,
    params: decodeParameters(params, 'NAMED'),
    now: BigInt(NOW) * 1000n,
  });
}

/** Rows and bytes processed of a SELECT. */
function select(sql: string, params: RestQueryParameter[] = []) {
  const compiled = compile(sql, params);
  if (compiled.kind !== 'select') throw new Error('not a SELECT');
  return {
    rows: runSelect(compiled),
    bytes: Number(billStatement(compiled, warehouse).bytesProcessed),
  };
}

function dml(sql: string, params: RestQueryParameter[] = []) {
  const compiled = compile(sql, params);
  if (compiled.kind === 'select') throw new Error('not DML');
  const bytes = Number(billStatement(compiled, warehouse).bytesProcessed);
  return { affected: runDml(compiled, undefined, warehouse, NOW), bytes };
}

function refusal(sql: string, params: RestQueryParameter[] = []): string {
  try {
    const compiled = compile(sql, params);
    if (compiled.kind === 'select') runSelect(compiled);
  } catch (error) {
    if (error instanceof BigQueryError) return error.message;
    throw error;
  }
  throw new Error(`expected ${sql} to be refused`);
}

const PEOPLE: RestField[] = [
  { name: 'id', type: 'INT64', mode: 'REQUIRED' },
  {
    name: 'user',
    type: 'RECORD',
    fields: [
      { name: 'email', type: 'STRING' },
      { name: 'name', type: 'STRING' },
    ],
  },
  { name: 'emails', type: 'STRING', mode: 'REPEATED' },
  {
    name: 'props',
    type: 'RECORD',
    mode: 'REPEATED',
    fields: [
      { name: 'key', type: 'STRING' },
      { name: 'value', type: 'RECORD', fields: [{ name: 'string_value', type: 'STRING' }] },
    ],
  },
];

beforeEach(async () => {
  warehouse = await Warehouse.create();
  await table('people', PEOPLE, [
    // user.email 2+9, user.name 2+3; emails 2+6, 2+3; props: key 2+5 + value 2+6
    {
      id: 1,
      user: { email: ' A@x.io  ', name: 'Ann' },
      emails: ['A@X.IO', 'a@y'],
      props: [{ key: 'email', value: { string_value: 'a@x.io' } }],
    },
    // user.email 2+6, user.name 2+3; emails 2+6; props: key 2+5 + value 2+6, key 2+4 + value 2+3
    {
      id: 2,
      user: { email: 'b@x.io', name: 'Bob' },
      emails: ['b@x.io'],
      props: [
        { key: 'email', value: { string_value: 'b@x.io' } },
        { key: 'plan', value: { string_value: 'pro' } },
      ],
    },
    { id: 3 },
  ]);
});

describe('expressions and literals', () => {
  it('runs SELECT without FROM, literals and arithmetic, billing nothing', () => {
    expect(
      select("SELECT 1 AS x, 'a' || 'b' AS s, 2 * 3 + 1 AS n, 7 / 2 AS f, NULL IS NULL AS t"),
    ).toEqual({
      rows: [[1n, 'ab', 7n, 3.5, true]],
      bytes: 0,
    });
  });

  it('hashes and encodes as BigQuery does', () => {
    const digest = createHash('sha256').update('a@x.io').digest();
    expect(
      select(
        "SELECT TO_HEX(SHA256(LOWER(TRIM(' A@X.io ')))), TO_BASE64(SHA256('a@x.io')), UPPER('é'), LENGTH('é')",
      ).rows,
    ).toEqual([[digest.toString('hex'), digest.toString('base64'), 'É', 1n]]);
  });

  it('uses three-valued logic for NULL, IN and NOT IN', () => {
    expect(
      select(
        'SELECT NULL AND FALSE, NULL OR TRUE, NOT (NULL = 1), 1 IN (2, NULL), 1 NOT IN (2, 3), 2 BETWEEN 1 AND 3',
      ).rows,
    ).toEqual([[false, true, null, null, true, true]]);
  });
});

describe('STRUCT and ARRAY columns', () => {
  it('reads a dotted STRUCT path, and bills that leaf alone', () => {
    // user.email: 11 + 8 + 0 = 19
    expect(
      select('SELECT id FROM d.people WHERE LOWER(TRIM(user.email)) = @e', [
        param('e', 'STRING', 'a@x.io'),
      ]),
    ).toEqual({
      rows: [[1n]],
      bytes: 19 + 24, // and id (3 × 8)
    });
  });

  it('matches any element with IN UNNEST(column) and EXISTS over UNNEST', () => {
    expect(select("SELECT id FROM d.people WHERE 'b@x.io' IN UNNEST(emails)").rows).toEqual([[2n]]);
    expect(
      select(
        "SELECT id FROM d.people WHERE EXISTS (SELECT 1 FROM UNNEST(emails) AS v WHERE LOWER(v) = 'a@x.io')",
      ).rows,
    ).toEqual([[1n]]);
  });

  it('finds a key/value property, billing only the fields the query reads', () => {
    const found = select(
      "SELECT id FROM d.people WHERE EXISTS (SELECT 1 FROM UNNEST(props) AS kv WHERE kv.key = 'email' AND kv.value.string_value = @e)",
      [param('e', 'STRING', 'b@x.io')],
    );
    // props.key 7 + 7 + 6 = 20, props.value.string_value 8 + 8 + 5 = 21, id 24.
    expect(found).toEqual({ rows: [[2n]], bytes: 20 + 21 + 24 });
  });

  it('flattens with a correlated UNNEST join, WITH OFFSET, and groups', () => {
    expect(
      select('SELECT id, e, o FROM d.people, UNNEST(emails) AS e WITH OFFSET o ORDER BY id, o')
        .rows,
    ).toEqual([
      [1n, 'A@X.IO', 0n],
      [1n, 'a@y', 1n],
      [2n, 'b@x.io', 0n],
    ]);
    expect(
      select(
        'SELECT kv.key, COUNT(*) AS n FROM d.people, people.props AS kv GROUP BY kv.key ORDER BY n DESC, kv.key',
      ).rows,
    ).toEqual([
      ['email', 2n],
      ['plan', 1n],
    ]);
  });

  it('returns STRUCTs and ARRAYs whole, billing every leaf under them', () => {
    const { rows, bytes } = select('SELECT user, ARRAY_LENGTH(emails) FROM d.people WHERE id = 2');
    expect(rows).toEqual([[['b@x.io', 'Bob'], 1n]]);
    // user: 11+5 + 8+5 = 29; emails 8+5 + 8 = 21; id 24.
    expect(bytes).toBe(29 + 21 + 24);
  });

  it('deletes (q + t) and updates STRUCT fields and ARRAYs', () => {
    const table = 29 + 21 + 24 + (20 + 21); // user, emails, id, props
    expect(dml('DELETE FROM d.people WHERE id = 3')).toEqual({ affected: 1, bytes: 24 + table });
    expect(
      dml("UPDATE d.people SET user.email = NULL, emails = [] WHERE 'b@x.io' IN UNNEST(emails)")
        .affected,
    ).toBe(1);
    expect(
      select('SELECT user.email, ARRAY_LENGTH(emails) FROM d.people WHERE id = 2').rows,
    ).toEqual([[null, 0n]]);
  });
});

describe('date-sharded (wildcard) tables', () => {
  beforeEach(async () => {
    const schema: RestField[] = [{ name: 'uid', type: 'STRING' }];
    await table('events_20240101', schema, [{ uid: 'u1' }, { uid: 'u2' }], {}, 'a');
    await table('events_20240102', schema, [{ uid: 'u1' }], {}, 'a');
    await table('events_intraday_20240103', schema, [{ uid: 'u1' }], {}, 'a');
  });

  it('reads every matching table with its _TABLE_SUFFIX, billing only the shards left after the suffix filter', () => {
    expect(
      select("SELECT uid, _TABLE_SUFFIX FROM `p.a.events_*` WHERE uid = 'u1' ORDER BY 2").rows,
    ).toEqual([
      ['u1', '20240101'],
      ['u1', '20240102'],
      ['u1', 'intraday_20240103'],
    ]);
    // uid: 4 + 4 in the first shard; the others are not read.
    expect(
      select("SELECT COUNT(*) FROM `p.a.events_*` WHERE _TABLE_SUFFIX = '20240101' AND uid = 'u1'"),
    ).toEqual({
      rows: [[1n]],
      bytes: 8,
    });
  });

  it('refuses DML on a wildcard, and a wildcard with no table', () => {
    expect(refusal("DELETE FROM `p.a.events_*` WHERE uid = 'u1'")).toContain(
      'DML statements cannot modify wildcard tables',
    );
    expect(refusal('SELECT 1 FROM `p.a.sessions_*`')).toBe(
      'Not found: Table p:a.sessions_* was not found in location US',
    );
  });
});

describe('partitioned tables', () => {
  const visits: RestField[] = [
    { name: 'day', type: 'DATE' },
    { name: 'uid', type: 'STRING' },
  ];

  beforeEach(async () => {
    await table(
      'visits',
      visits,
      [
        { day: '2024-03-30', uid: 'u1' },
        { day: '2024-03-01', uid: 'u1' },
        { day: '2023-01-01', uid: 'u1' },
      ],
      { partitioning: { type: 'DAY', field: 'day', requirePartitionFilter: true } },
    );
    await table('hits', [{ name: 'uid', type: 'STRING' }], [{ uid: 'u1' }, { uid: 'u2' }], {
      partitioning: { type: 'DAY', requirePartitionFilter: false },
      ingestedAt: [BigInt(Date.UTC(2024, 2, 30, 8)) * 1000n, BigInt(Date.UTC(2024, 0, 5)) * 1000n],
    });
  });

  it('refuses a query without a filter that eliminates partitions, as the service words it', () => {
    expect(refusal("SELECT uid FROM d.visits WHERE uid = 'u1'")).toBe(
      "Cannot query over table 'p.d.visits' without a filter over column(s) 'day' that can be used for partition elimination",
    );
  });

  it('bills only the partitions the filter leaves, for SELECT and for DML', () => {
    // Partitions 2024-03-01 and 2024-03-30: uid 4 + 4, day 8 + 8.
    expect(
      select(
        "SELECT uid FROM d.visits WHERE day >= DATE_SUB(DATE '2024-03-31', INTERVAL 60 DAY) AND uid = 'u1'",
      ),
    ).toEqual({
      rows: [['u1'], ['u1']],
      bytes: 8 + 16,
    });
    // q (uid and day there: 24) + t' (those partitions whole: 24).
    expect(
      dml("DELETE FROM d.visits WHERE day BETWEEN '2024-03-01' AND '2024-03-31' AND uid = 'u1'"),
    ).toEqual({ affected: 2, bytes: 48 });
    expect(select("SELECT COUNT(*) FROM d.visits WHERE day < '2024-01-01'").rows).toEqual([[1n]]);
  });

  it('partitions by ingestion time: _PARTITIONTIME and _PARTITIONDATE', () => {
    expect(
      select(
        "SELECT uid, _PARTITIONDATE FROM d.hits WHERE _PARTITIONTIME >= TIMESTAMP '2024-03-01'",
      ),
    ).toEqual({
      rows: [['u1', '2024-03-30']],
      bytes: 4,
    });
  });
});

describe("refusals, with the service's words", () => {
  it.each([
    ['SELECT nope FROM d.people', 'Unrecognized name: nope at [1:8]'],
    ['SELECT id FROM d.missing', 'Not found: Table p:d.missing was not found in location US'],
    ['SELECT id FROM d.people WHERE id = @x', "Query parameter 'x' not found at [1:36]"],
    [
      "SELECT id FROM d.people WHERE id = 'a'",
      'No matching signature for operator = for argument types: INT64, STRING',
    ],
    [
      'SELECT id FROM d.people WHERE user.email',
      'WHERE clause should return type BOOL, but returns STRING',
    ],
    [
      'SELECT props.key FROM d.people',
      'Cannot access field key on a value with type ARRAY<STRUCT<key STRING, value STRUCT<string_value STRING>>>',
    ],
    [
      'SELECT user.mail FROM d.people',
      'Field name mail does not exist in STRUCT<email STRING, name STRING>',
    ],
    [
      'SELECT LOWER(id) FROM d.people',
      'No matching signature for function LOWER for argument types: INT64',
    ],
    [
      'SELECT id, COUNT(*) FROM d.people',
      'SELECT list expression references column id which is neither grouped nor aggregated',
    ],
    [
      'SELECT id FROM d.people WHERE emails = emails',
      'Equality is not defined for arguments of type ARRAY<STRING>',
    ],
    ['UPDATE d.people SET id = NULL WHERE TRUE', 'Cannot assign NULL to REQUIRED field id'],
    [
      "UPDATE d.people SET id = 'x' WHERE TRUE",
      'Value of type STRING cannot be assigned to id, which has type INT64',
    ],
    [
      'UPDATE d.people SET user = NULL, user.email = NULL WHERE TRUE',
      'Update item user.email overlaps with user',
    ],
    ['SELECT id FROM d.people LIMIT @l', 'LIMIT expects a non-negative INT64 literal or parameter'],
    [
      'SELECT REGEXP_CONTAINS(user.email, "x") FROM d.people',
      'Unsupported construct: function REGEXP_CONTAINS()',
    ],
  ])('%s → %s', (sql, message) => {
    expect(refusal(sql, [param('l', 'STRING', '1')])).toContain(message);
  });

  it('binds parameters as values, never as SQL', () => {
    expect(
      select('SELECT id FROM d.people WHERE user.name = @n', [
        param('n', 'STRING', "x' OR TRUE --"),
      ]).rows,
    ).toEqual([]);
  });
});
