// pgJDBC through dwproxy: batched prepared inserts, a fetch size (Execute with a row limit
// and PortalSuspended), savepoints around an error, and server-prepared statements
// (prepareThreshold=1). Exits non-zero on the first mismatch. Usage: JdbcCheck URL USER PW
import java.sql.*;

public class JdbcCheck {
  static void check(boolean ok, String what) {
    if (!ok) throw new AssertionError(what);
  }

  public static void main(String[] a) throws Exception {
    try (Connection c = DriverManager.getConnection(a[0] + "&prepareThreshold=1", a[1], a[2])) {
      try (Statement s = c.createStatement()) {
        s.execute("DROP TABLE IF EXISTS drv_jdbc");
        s.execute("CREATE TABLE drv_jdbc (id int PRIMARY KEY, t text)");
      }
      c.setAutoCommit(false);
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO drv_jdbc VALUES (?, ?)")) {
        for (int i = 0; i < 100; i++) {
          ps.setInt(1, i);
          ps.setString(2, "jdbc" + i);
          ps.addBatch();
        }
        check(ps.executeBatch().length == 100, "batch size");
      }
      c.commit();
      try (PreparedStatement ps = c.prepareStatement("SELECT id FROM drv_jdbc WHERE id >= ? ORDER BY id")) {
        ps.setFetchSize(7);
        ps.setInt(1, 10);
        int n = 0, sum = 0;
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) { n++; sum += rs.getInt(1); }
        }
        check(n == 90 && sum == 4905, "fetch-size result " + n + " " + sum);
      }
      Savepoint sp = c.setSavepoint();
      try (Statement s = c.createStatement()) {
        s.execute("SELECT 1/0");
        check(false, "division by zero did not fail");
      } catch (SQLException e) {
        check("22012".equals(e.getSQLState()), "sqlstate " + e.getSQLState());
        c.rollback(sp);
      }
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM drv_jdbc")) {
        rs.next();
        check(rs.getInt(1) == 100, "count after savepoint rollback");
      }
      c.commit();
    }
    System.out.println("jdbc: ok");
  }
}
