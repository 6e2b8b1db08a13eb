package mastodon

import (
	"strconv"
	"strings"
)

// Replica is a read replica of the database. config/database.yml's
// production replica reads REPLICA_DB_HOST, _PORT, _NAME, _USER, _PASS
// and REPLICA_PREPARED_STATEMENTS, each falling back to the primary's
// DB_* (PREPARED_STATEMENTS), and shares the primary's sslmode (DB_SSLMODE)
// and, through libpq, its CA (PGSSLROOTCERT). ApplicationRecord connects
// to it (connects_to reading: :replica) when DatabaseHelper.replica_enabled?
// holds, and web, Sidekiq and tootctl then send some reads there (home
// feeds, notifications, directories); streaming never reads it.
type Replica struct {
	// Host and Port: "" and 0 are the database's (another database of the
	// same server or pooler, Name), and with CloudSQLInstance.
	Host     string
	Port     int32
	Name     string // "": the database's
	User     string // "": the database's
	Password string // "": the database's
	// PasswordRef, when set, gives the password instead (see SecretRef).
	PasswordRef *SecretRef `json:",omitempty"`
	// CloudSQLInstance, with the database's CloudSQL, is the replica's
	// instance connection name: the Pods' proxy serves it too, on
	// 127.0.0.1:cloudSQLReplicaPort, encrypted as the primary is (sslmode
	// disable).
	CloudSQLInstance string `json:",omitempty"`
}

// cloudSQLReplicaPort is where the proxy serves the replica's instance.
const cloudSQLReplicaPort = 5433

// address is where the processes reach the replica.
func (r *Replica) address() (host string, port int32) {
	if r.CloudSQLInstance != "" {
		return "127.0.0.1", cloudSQLReplicaPort
	}
	return r.Host, r.Port
}

// EnvReplicaPassword is the replica's password in the instance's Secret.
const EnvReplicaPassword = "REPLICA_DB_PASS"

// replicaFeature sends reads to a replica (Database.Replica).
type replicaFeature struct{ noFeature }

func (s *Spec) replica() *Replica {
	if s.Database == nil {
		return nil
	}
	return s.Database.Replica
}

func (replicaFeature) defaults(s *Spec) {
	if r := s.replica(); r != nil && r.Port == 0 && r.Host != "" {
		r.Port = 5432
	}
}

// env: REPLICA_DB_NAME is always set, because before 4.6.0
// DatabaseHelper.replica_enabled? looks at REPLICA_DB_NAME (or
// REPLICA_DATABASE_URL) only, not REPLICA_DB_HOST. Prepared statements
// follow the pooler's mode: the replica is reached the way the primary is.
func (replicaFeature) env(s *Spec, plain, secret map[string]string) {
	r := s.replica()
	if r == nil {
		return
	}
	name := r.Name
	if name == "" {
		name = s.Database.Name
	}
	if host, port := r.address(); host != "" {
		plain["REPLICA_DB_HOST"] = host
		plain["REPLICA_DB_PORT"] = strconv.Itoa(int(port))
	}
	plain["REPLICA_DB_NAME"] = name
	if r.User != "" {
		plain["REPLICA_DB_USER"] = r.User
	}
	plain["REPLICA_PREPARED_STATEMENTS"] = s.preparedStatements()
	if r.Password != "" {
		secret[EnvReplicaPassword] = r.Password
	}
}

func (replicaFeature) validate(s *Spec, e *fieldErrors) {
	r := s.replica()
	if r == nil {
		return
	}
	s.refuseExtra("database.replica", func(k string) bool { return strings.HasPrefix(k, "REPLICA_") }, e)
	const host, port, instance = "database.replica.host", "database.replica.port", "database.replica.cloud_sql_instance"
	cloudSQL := s.Database.CloudSQL != nil
	switch {
	case r.CloudSQLInstance != "" && !cloudSQL:
		e.add(instance, "needs database.cloud_sql: the replica's instance is reached through the proxy that database.cloud_sql runs")
		e.related("database.cloud_sql")
	case r.CloudSQLInstance != "" && (r.Host != "" || r.Port != 0):
		e.add(instance, "conflicts with database.replica.host and port: the proxy serves the replica on 127.0.0.1:%d", cloudSQLReplicaPort)
		e.related(host, port)
	case r.CloudSQLInstance == "" && cloudSQL && r.Host != "":
		e.add(host, "conflicts with database.cloud_sql: the replica would get the primary's sslmode (disable behind the proxy). "+
			"Give the replica's instance connection name as database.replica.cloud_sql_instance instead")
		e.related("database.cloud_sql", instance)
	case r.CloudSQLInstance == "" && r.Host == "" && r.Name == "":
		e.add(host, "must be set, or database.replica.name (another database of the same server or pooler), or "+
			"database.replica.cloud_sql_instance with database.cloud_sql: else the replica is the database itself")
		e.related(instance, "database.replica.name")
	case r.CloudSQLInstance == "" && r.Host == "" && r.Port != 0:
		e.add(port, "needs database.replica.host: without it the replica is on the database's host and port")
		e.related(host)
	}
}
