"""psycopg 3 and psycopg2 through dwproxy: extended protocol with prepared and binary
parameters, pipeline mode, COPY, server-side cursors, errors with SQLSTATE, and
LISTEN/NOTIFY. Exits non-zero on the first mismatch. Usage: psycopg_check.py DSN"""
import datetime
import decimal
import sys
import uuid

import psycopg
import psycopg2

dsn = sys.argv[1]

with psycopg.connect(dsn) as c:
    c.execute("DROP TABLE IF EXISTS drv_py")
    c.execute("CREATE TABLE drv_py (id int PRIMARY KEY, t text, ts timestamptz, n numeric,"
              " u uuid, b bytea, j jsonb)")
    with c.cursor() as cur:
        for i in range(50):
            cur.execute("INSERT INTO drv_py VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        (i, f"row{i}", datetime.datetime.now(datetime.timezone.utc),
                         decimal.Decimal("1.5") * i, uuid.uuid4(), bytes(range(i)),
                         psycopg.types.json.Jsonb({"i": i})), prepare=True)
        cur.execute("SELECT count(*), sum(n) FROM drv_py")
        assert cur.fetchone() == (50, decimal.Decimal("1837.5"))
        cur.execute("SELECT b, j FROM drv_py WHERE id = %s", (10,), binary=True)
        assert cur.fetchone() == (bytes(range(10)), {"i": 10})
    c.commit()
    with c.pipeline(), c.cursor() as cur:
        for i in range(100):
            cur.execute("UPDATE drv_py SET t = %s WHERE id = %s", (f"p{i}", i % 50))
    c.commit()
    with c.cursor() as cur:
        with cur.copy("COPY drv_py (id, t) TO STDOUT") as copy:
            assert sum(1 for _ in copy.rows()) == 50
        try:
            cur.execute("SELECT 1/0")
            raise AssertionError("division by zero did not fail")
        except psycopg.errors.DivisionByZero as e:
            assert e.sqlstate == "22012"
    c.rollback()
    with c.cursor(name="server_side") as cur:
        cur.execute("SELECT generate_series(1, 10000)")
        assert len(cur.fetchall()) == 10000
    c.commit()

# A failed INSERT took a serial value on the primary, and through the extended protocol the
# proxy must make the shadow take one too; an autocommit pipeline that fails rolls back the
# INSERT before the failure as well. Behind a dual-write proxy the last RETURNING id is
# compared on NEW, so a sequence left behind there shows up as a divergence (run.sh checks).
with psycopg.connect(dsn, autocommit=True) as c:
    c.execute("DROP TABLE IF EXISTS drv_seq")
    c.execute("CREATE TABLE drv_seq (id serial PRIMARY KEY, name text UNIQUE)")
    c.execute("INSERT INTO drv_seq (name) VALUES (%s)", ("dup",))
    try:
        c.execute("INSERT INTO drv_seq (name) VALUES (%s)", ("dup",))
        raise AssertionError("a duplicate insert did not fail")
    except psycopg.errors.UniqueViolation:
        pass
    try:
        with c.pipeline():
            c.execute("INSERT INTO drv_seq (name) VALUES (%s)", ("before",))
            c.execute("INSERT INTO drv_seq (name) VALUES (%s)", ("dup",))
        raise AssertionError("a pipeline with a duplicate insert did not fail")
    except psycopg.errors.UniqueViolation:
        pass
    got = c.execute("INSERT INTO drv_seq (name) VALUES (%s) RETURNING id", ("last",)).fetchone()
    assert got == (5,), got
    # executemany with returning: a pipeline that asks for answers (Flush) before its Sync.
    # The primary's RETURNING rows must be kept for the comparison on NEW all the same.
    with c.transaction(), c.cursor() as cur:
        cur.executemany("INSERT INTO drv_seq (name) VALUES (%s) RETURNING id",
                        [(f"many{i}",) for i in range(10)], returning=True)
        ids = []
        while True:
            ids.append(cur.fetchone()[0])
            if not cur.nextset():
                break
    assert ids == list(range(6, 16)), ids
    # A prepared INSERT whose first run fails, in a pipeline (Parse "_pg3_N", Bind, Execute, one
    # Sync): a write the proxy wrapped and rolled back, yet the statement lives on at the
    # primary. The shadow must get it too, or the next run of it fails there, and take the
    # failed run's value.
    prepared = "INSERT INTO drv_seq AS s (name) VALUES (%s)"
    try:
        with c.pipeline():
            c.execute(prepared, ("dup",), prepare=True)
        raise AssertionError("a duplicate insert of a prepared statement did not fail")
    except psycopg.errors.UniqueViolation:
        pass
    c.execute(prepared, ("after",), prepare=True)
    got = c.execute("INSERT INTO drv_seq (name) VALUES (%s) RETURNING id", ("final",)).fetchone()
    assert got == (18,), got

c2 = psycopg2.connect(dsn)
cur = c2.cursor()
cur.execute("SELECT count(*) FROM drv_py WHERE t LIKE %s", ("p%",))
assert cur.fetchone() == (50,)
cur.execute("LISTEN drv_chan; NOTIFY drv_chan, 'hello'")
c2.commit()
c2.poll()
assert [n.payload for n in c2.notifies] == ["hello"], c2.notifies
c2.close()
print("psycopg: ok")
