// Grants the cluster's ACLs (deploy/kafka/cluster.sh start) in one Admin call. Kafka 4 ships its
// kafka-acls tool in kafka-tools, which the broker does not need; this file runs with the broker's
// own jars through java's single-file source launcher:
//   java -cp "$KAFKA_HOME/libs/*" ClusterAcls.java <bootstrap> <admin-client.properties> < acls
// Each stdin line: ALLOW <principal> <TOPIC|GROUP> <LITERAL|PREFIXED> <resource name> <operation>.
import java.io.BufferedReader;
import java.io.FileReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class ClusterAcls {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        try (FileReader config = new FileReader(args[1])) {
            props.load(config);
        }
        props.put("bootstrap.servers", args[0]);
        List<AclBinding> bindings = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            String[] f = line.trim().split("\\s+");
            if (f.length != 6 || !f[0].equals("ALLOW")) {
                throw new IllegalArgumentException("not an ACL line: " + line);
            }
            ResourcePattern resource = new ResourcePattern(
                ResourceType.valueOf(f[2]), f[4], PatternType.valueOf(f[3]));
            AccessControlEntry entry = new AccessControlEntry(
                f[1], "*", AclOperation.valueOf(f[5]), AclPermissionType.ALLOW);
            bindings.add(new AclBinding(resource, entry));
        }
        try (Admin admin = Admin.create(props)) {
            admin.createAcls(bindings).all().get();
        }
        System.out.println("granted " + bindings.size() + " ACLs");
    }
}
