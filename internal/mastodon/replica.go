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
	Host     string
	Port     int32
	Name     string // "": the database's
	User     string // "": the database's
	Password string // "": the database's
	// PasswordRef, when set, gives the password instead (see SecretRef).
	PasswordRef *SecretRef `json:",omitempty"`
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
	if r := s.replica(); r != nil && r.Port == 0 {
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
	plain["REPLICA_DB_HOST"] = r.Host
	plain["REPLICA_DB_PORT"] = strconv.Itoa(int(r.Port))
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
	if s.Database.CloudSQL != nil {
		e.add("database.replica", "conflicts with database.cloud_sql: the Pods' proxy reaches the primary only, and the replica would get the "+
			"primary's sslmode (disable behind the proxy). A replica of a Cloud SQL instance is not supported")
		e.related("database.cloud_sql")
	}
}
