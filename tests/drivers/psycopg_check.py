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
