package publisher.ci.hive4;

import java.io.IOException;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hive.metastore.MetaStorePreEventListener;
import org.apache.hadoop.hive.metastore.api.InvalidOperationException;
import org.apache.hadoop.hive.metastore.api.MetaException;
import org.apache.hadoop.hive.metastore.api.NoSuchObjectException;
import org.apache.hadoop.hive.metastore.api.Table;
import org.apache.hadoop.hive.metastore.events.PreAlterTableEvent;
import org.apache.hadoop.hive.metastore.events.PreCreateTableEvent;
import org.apache.hadoop.hive.metastore.events.PreEventContext;

/**
 * Apache Hive 4's metastore rules for tables, imposed on the Hive 2.3.10 metastore inside
 * Spark (hive.metastore.pre.event.listeners). Apache Hive 4 applies them in
 * standalone-metastore/metastore-server/.../MetastoreDefaultTransformer.java, which
 * MetastoreConf.METASTORE_METADATA_TRANSFORMER_CLASS ("metastore.metadata.transformer.class")
 * names by default; HIVE-24954 turned it on in Hive's own tests too.
 *
 * The metastore builds this listener several times per session: it keeps no state.
 */
public class Hive4Rules extends MetaStorePreEventListener {
  static final String PURGE = "external.table.purge";
  static final String TRANSLATED = "TRANSLATED_TO_EXTERNAL";
  /** A test-only table parameter: make this table as Cloudera CDP makes a managed Parquet table. */
  static final String FLAVOUR_MARKER = "publisher.test.make-as";

  public Hive4Rules(Configuration conf) {
    super(conf);
  }

  @Override
  public void onEvent(PreEventContext context)
      throws MetaException, NoSuchObjectException, InvalidOperationException {
    switch (context.getEventType()) {
      case CREATE_TABLE:
        onCreate(((PreCreateTableEvent) context).getTable(), context);
        break;
      case ALTER_TABLE:
        PreAlterTableEvent alter = (PreAlterTableEvent) context;
        onAlter(alter.getOldTable(), alter.getNewTable());
        break;
      default:
        break;
    }
  }

  private void onCreate(Table table, PreEventContext context) throws MetaException, NoSuchObjectException {
    Map<String, String> params = parameters(table);
    String makeAs = params.remove(FLAVOUR_MARKER);
    if ("cdp-insert-only".equals(makeAs)) {
      // Cloudera CDP (Hive 3): a managed table in a format other than ORC is created
      // insert-only ACID (Cloudera Runtime 7.1, "Hive 3 tables"). Hive 2.3's
      // TransactionalValidationListener refuses these parameters from a user, but it runs
      // before this listener, so they persist. Spark does not read or write them as ACID.
      params.put("transactional", "true");
      params.put("transactional_properties", "insert_only");
      return;
    } else if (makeAs != null) {
      throw new MetaException("unknown " + FLAVOUR_MARKER + "=" + makeAs + " (known: cdp-insert-only)");
    }
    if ("MANAGED_TABLE".equals(table.getTableType()) && !isTransactional(params)) {
      // MetastoreDefaultTransformer.transformCreateTable: a managed, non-ACID table becomes
      // EXTERNAL_TABLE with EXTERNAL=TRUE, external.table.purge=TRUE, TRANSLATED_TO_EXTERNAL=TRUE.
      // Transactional parameters set to false are removed there too.
      table.setTableType("EXTERNAL_TABLE");
      params.remove("transactional");
      params.remove("transactional_properties");
      params.put("EXTERNAL", "TRUE");
      params.put(PURGE, "TRUE");
      params.put(TRANSLATED, "TRUE");
      moveToExternalWarehouse(table, context);
      return;
    }
    if ("EXTERNAL_TABLE".equals(table.getTableType())) {
      // MetastoreDefaultTransformer.transformCreateTable -> validateTablePaths.
      refuseInsideManagedWarehouse(table);
    }
  }

  private void onAlter(Table before, Table after) throws MetaException {
    if (!"EXTERNAL_TABLE".equals(after.getTableType())) {
      return;
    }
    followRename(before, after);
    // MetastoreDefaultTransformer.transformAlterTable: validateTablePaths again when the
    // ALTER changes the location (tableLocationChanged).
    String was = location(before);
    String now = location(after);
    if (now == null || (was != null && bare(was).equals(bare(now)))) {
      return;
    }
    refuseInsideManagedWarehouse(after);
  }

  /**
   * In Hive 4 the client sends no location and the transformer asks for
   * Warehouse.getDefaultTablePath(db, table, isExternal=true): the same db.db/table shape
   * under hive.metastore.warehouse.external.dir (MetastoreConf.WAREHOUSE_EXTERNAL).
   *
   * Spark sends the managed default it computed for a Hive table, and no location at all for
   * its own datasource tables (USING parquet: the real path is the serde parameter "path"), so
   * both a location under the managed root and none are read as "none chosen" and moved. Spark
   * re-reads a table before INSERT, so writes go to the new place; a datasource CTAS writes its
   * files before it creates the table, so files already there are moved with it.
   * A folder already at the new place is used as it is: Hive 4's default
   * metastore.metadata.transformer.location.mode=force (MetastoreConf, HIVE-24920).
   */
  private void moveToExternalWarehouse(Table table, PreEventContext context)
      throws MetaException, NoSuchObjectException {
    Map<String, String> serde = table.getSd().getSerdeInfo() == null ? null
        : table.getSd().getSerdeInfo().getParameters();
    String current = location(table);
    if (current == null) {
      String dbLocation = context.getHandler().get_database(table.getDbName()).getLocationUri();
      current = new Path(dbLocation, table.getTableName().toLowerCase(Locale.ROOT)).toString();
    }
    String relative = relativeTo(managedRoot(), new Path(current));
    if (relative == null || relative.isEmpty()) {
      return; // chosen by the user outside the warehouse: Hive 4 keeps it too
    }
    Path moved = new Path(externalRoot(), relative);
    Path old = new Path(current);
    try {
      FileSystem fs = moved.getFileSystem(getConf());
      if (fs.exists(old) && !fs.exists(moved)) {
        fs.mkdirs(moved.getParent());
        if (!fs.rename(old, moved)) {
          throw new MetaException("could not move " + old + " to " + moved);
        }
      }
    } catch (IOException e) {
      throw new MetaException("could not move files to the external warehouse: " + e);
    }
    table.getSd().setLocation(moved.toString());
    if (serde != null && serde.containsKey("path") && bare(serde.get("path")).equals(bare(current))) {
      serde.put("path", moved.toString());
    }
  }

  /**
   * MetastoreConf.METASTORE_METADATA_TRANSFORMER_TRANSLATED_TO_EXTERNAL_FOLLOWS_RENAMES
   * (default true; HIVE-24920, HiveAlterHandler): RENAME of a TRANSLATED_TO_EXTERNAL table at
   * its default location gives it the new name's default location, and its folder moves there
   * (FollowRenames does that once the ALTER committed). Hive refuses when that folder exists
   * ("New location for this table ... already exists"). Not for partitioned tables here: their
   * partitions' locations would have to follow too (HIVE-26158), which this emulation does not do.
   */
  private void followRename(Table before, Table after) throws MetaException {
    boolean renamed = !before.getTableName().equalsIgnoreCase(after.getTableName())
        || !before.getDbName().equalsIgnoreCase(after.getDbName());
    String was = location(before);
    if (!renamed || was == null || !isTranslated(before) || before.getPartitionKeysSize() > 0
        || !bare(was).equals(bare(location(after)))) {
      return;
    }
    Path external = externalRoot();
    Path defaultBefore = defaultExternalPath(external, before);
    if (!bare(was).equals(bare(defaultBefore.toString()))) {
      return; // not at its default location: it stays where it is
    }
    Path moved = defaultExternalPath(external, after);
    try {
      if (moved.getFileSystem(getConf()).exists(moved)) {
        throw new MetaException("New location for this table " + after.getDbName() + "." + after.getTableName()
            + " already exists : " + moved);
      }
    } catch (IOException e) {
      throw new MetaException("could not check " + moved + ": " + e);
    }
    after.getSd().setLocation(moved.toString());
    Map<String, String> serde = after.getSd().getSerdeInfo() == null ? null
        : after.getSd().getSerdeInfo().getParameters();
    if (serde != null && serde.containsKey("path") && bare(serde.get("path")).equals(bare(was))) {
      serde.put("path", moved.toString());
    }
  }

  /** Warehouse.getDefaultTablePath(db, table, isExternal=true), for databases in the warehouse. */
  static Path defaultExternalPath(Path externalRoot, Table table) {
    String db = table.getDbName().toLowerCase(Locale.ROOT);
    String name = table.getTableName().toLowerCase(Locale.ROOT);
    return "default".equals(db) ? new Path(externalRoot, name) : new Path(new Path(externalRoot, db + ".db"), name);
  }

  static boolean isTranslated(Table table) {
    return table.getParameters() != null && "TRUE".equalsIgnoreCase(table.getParameters().get(TRANSLATED));
  }

  private void refuseInsideManagedWarehouse(Table table) throws MetaException {
    String where = location(table);
    if (where == null) {
      return;
    }
    Path root = managedRoot();
    if (relativeTo(root, new Path(where)) != null) {
      // The message is MetastoreDefaultTransformer.validateTablePaths's own.
      throw new MetaException("An external table's location should not be located within managed warehouse"
          + " root directory, table:" + table.getTableName() + ",location:" + bare(where)
          + ",managed warehouse:" + bare(root.toString()));
    }
  }

  static boolean isTransactional(Map<String, String> params) {
    return "true".equalsIgnoreCase(params.get("transactional"))
        || "insert_only".equalsIgnoreCase(params.get("transactional_properties"));
  }

  static Map<String, String> parameters(Table table) {
    if (table.getParameters() == null) {
      table.setParameters(new HashMap<>());
    }
    return table.getParameters();
  }

  static String location(Table table) {
    return table.isSetSd() ? table.getSd().getLocation() : null;
  }

  private Path managedRoot() throws MetaException {
    return root("hive.metastore.warehouse.dir");
  }

  private Path externalRoot() throws MetaException {
    return root("hive.metastore.warehouse.external.dir");
  }

  private Path root(String key) throws MetaException {
    String value = getConf().get(key);
    if (value == null || value.trim().isEmpty()) {
      throw new MetaException("the Hive 4 emulation needs " + key + " (spark.hadoop." + key + ")");
    }
    return new Path(value.trim());
  }

  /** The path without scheme and authority, with no trailing slash: file:/a/b/ and /a/b agree. */
  static String bare(String location) {
    String path = Path.getPathWithoutSchemeAndAuthority(new Path(location)).toString();
    return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
  }

  /** child's path below root ("" for root itself), or null when it is not inside root. */
  static String relativeTo(Path root, Path child) {
    String r = bare(root.toString());
    String c = bare(child.toString());
    if (c.equals(r)) {
      return "";
    }
    String prefix = r.endsWith("/") ? r : r + "/";
    return c.startsWith(prefix) ? c.substring(prefix.length()) : null;
  }

  static boolean isPurge(Table table) {
    String value = table.getParameters() == null ? null : table.getParameters().get(PURGE);
    return value != null && value.toLowerCase(Locale.ROOT).equals("true");
  }
}
