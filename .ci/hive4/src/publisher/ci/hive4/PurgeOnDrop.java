package publisher.ci.hive4;

import java.io.IOException;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hive.metastore.MetaStoreEventListener;
import org.apache.hadoop.hive.metastore.api.MetaException;
import org.apache.hadoop.hive.metastore.api.Table;
import org.apache.hadoop.hive.metastore.events.AlterTableEvent;
import org.apache.hadoop.hive.metastore.events.DropTableEvent;

/**
 * The folder work of Apache Hive 4's metastore that must wait until the change committed
 * (hive.metastore.event.listeners).
 *
 * DROP TABLE of an external table with external.table.purge=TRUE deletes its data, as Apache
 * Hive 4's metastore does (HMSHandler.drop_table_core deletes the table's data when it is
 * managed or MetaStoreUtils.isExternalTablePurge(table); Hive 2.3, which Spark runs, only for
 * managed tables). Registered as hive.metastore.event.listeners: it runs after the drop
 * committed. Partition folders outside the table's location are not deleted here (Hive 4
 * deletes those too).
 */
public class PurgeOnDrop extends MetaStoreEventListener {
  // Also: a renamed TRANSLATED_TO_EXTERNAL table's folder follows the new name (Hive4Rules
  // gave it the new location before the ALTER; the files move once it committed).
  public PurgeOnDrop(Configuration conf) {
    super(conf);
  }

  @Override
  public void onDropTable(DropTableEvent event) throws MetaException {
    Table table = event.getTable();
    if (!event.getStatus() || !event.getDeleteData() || !"EXTERNAL_TABLE".equals(table.getTableType())
        || !Hive4Rules.isPurge(table)) {
      return;
    }
    String location = Hive4Rules.location(table);
    if (location == null) {
      return;
    }
    Path path = new Path(location);
    try {
      FileSystem fs = path.getFileSystem(getConf());
      if (fs.exists(path) && !fs.delete(path, true)) {
        throw new MetaException("could not delete " + path);
      }
    } catch (IOException e) {
      throw new MetaException("could not delete " + path + ": " + e);
    }
  }

  @Override
  public void onAlterTable(AlterTableEvent event) throws MetaException {
    Table before = event.getOldTable();
    Table after = event.getNewTable();
    String from = Hive4Rules.location(before);
    String to = Hive4Rules.location(after);
    if (!event.getStatus() || from == null || to == null || !Hive4Rules.isTranslated(before)
        || before.getTableName().equalsIgnoreCase(after.getTableName()) && before.getDbName().equalsIgnoreCase(after.getDbName())
        || Hive4Rules.bare(from).equals(Hive4Rules.bare(to))) {
      return;
    }
    Path source = new Path(from);
    Path target = new Path(to);
    try {
      FileSystem fs = source.getFileSystem(getConf());
      if (fs.exists(source) && !fs.exists(target)) {
        fs.mkdirs(target.getParent());
        if (!fs.rename(source, target)) {
          throw new MetaException("could not move " + source + " to " + target);
        }
      }
    } catch (IOException e) {
      throw new MetaException("could not move " + source + " to " + target + ": " + e);
    }
  }
}
