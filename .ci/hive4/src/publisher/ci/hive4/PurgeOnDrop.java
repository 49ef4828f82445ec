package publisher.ci.hive4;

import java.io.IOException;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hive.metastore.MetaStoreEventListener;
import org.apache.hadoop.hive.metastore.api.MetaException;
import org.apache.hadoop.hive.metastore.api.Table;
import org.apache.hadoop.hive.metastore.events.DropTableEvent;

/**
 * DROP TABLE of an external table with external.table.purge=TRUE deletes its data, as Apache
 * Hive 4's metastore does (HMSHandler.drop_table_core deletes the table's data when it is
 * managed or MetaStoreUtils.isExternalTablePurge(table); Hive 2.3, which Spark runs, only for
 * managed tables). Registered as hive.metastore.event.listeners: it runs after the drop
 * committed. Partition folders outside the table's location are not deleted here (Hive 4
 * deletes those too).
 */
public class PurgeOnDrop extends MetaStoreEventListener {
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
}
