package mastodon

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// Pooler is a connection pooler (PgBouncer, PgCat, Pgpool) at the
// database's host and port: web, Sidekiq, streaming and the tootctl Jobs
// connect through it.
type Pooler struct {
	// Mode is the pooler's pool mode: transaction or session. In
	// transaction mode a client holds a server connection only for a
	// transaction, so what lives in a session does not work: prepared
	// statements (Rails prepares every query unless PREPARED_STATEMENTS is
	// false, config/database.yml) and the session advisory lock that
	// db:migrate takes (the migrations go through Database.Direct).
	Mode string
	// MaxClientConnections is the pooler's limit of client connections
	// (PgBouncer's max_client_conn), for the connection budget (0: not
	// checked).
	MaxClientConnections int32
}

// Pool modes.
const (
	PoolTransaction = "transaction"
	PoolSession     = "session"
)

// PoolModes are the pool modes Mastodon works with.
var PoolModes = []string{PoolTransaction, PoolSession}

// DirectDatabase is the address at which the database Jobs (db:prepare,
// the migrations) reach the database itself, past the pooler; its user and
// password when they are not the instance's.
type DirectDatabase struct {
	Host     string
	Port     int32
	Name     string // "": the database's
	User     string // "": the database's
	Password string // "": the database's
	// PasswordRef, when set, gives the password instead (see SecretRef).
	PasswordRef *SecretRef `json:",omitempty"`
}

// ComponentDatabaseDirect marks the Secret of the direct connection's
// password.
const ComponentDatabaseDirect = "database-direct"

// DirectSecretName is the Secret of the direct connection's password,
// which only the migration Jobs read.
func (s *Spec) DirectSecretName() string { return s.Name + "-database-direct" }

// poolerFeature connects the processes through a pooler and the
// migration Jobs directly (Database.Pooler, Database.Direct).
type poolerFeature struct{ noFeature }

func (s *Spec) pooler() *Pooler {
	if s.Database == nil {
		return nil
	}
	return s.Database.Pooler
}

func (s *Spec) direct() *DirectDatabase {
	if s.Database == nil {
		return nil
	}
	return s.Database.Direct
}

// preparedStatements is PREPARED_STATEMENTS: off in transaction mode.
func (s *Spec) preparedStatements() string {
	if p := s.pooler(); p != nil && p.Mode == PoolTransaction {
		return "false"
	}
	return "true"
}

func (poolerFeature) defaults(s *Spec) {
	if d := s.direct(); d != nil && d.Port == 0 {
		d.Port = 5432
	}
}

// env turns prepared statements off in transaction mode (the core's
// PREPARED_STATEMENTS is true).
func (poolerFeature) env(s *Spec, plain, _ map[string]string) {
	if s.pooler() != nil {
		plain["PREPARED_STATEMENTS"] = s.preparedStatements()
	}
}

func (poolerFeature) validate(s *Spec, e *fieldErrors) {
	p, d := s.pooler(), s.direct()
	if p == nil && d == nil {
		return
	}
	if p != nil {
		s.refuseExtra("database.pooler", func(k string) bool { return k == "PREPARED_STATEMENTS" }, e)
	}
	if d != nil {
		// DATABASE_URL would take the place of the migration Jobs' DB_HOST.
		s.refuseExtra("database.direct", func(k string) bool { return k == "DATABASE_URL" }, e)
	}
	if s.Database.CloudSQL != nil {
		for _, attr := range []string{"database.pooler", "database.direct"} {
			if (attr == "database.pooler" && p != nil) || (attr == "database.direct" && d != nil) {
				e.add(attr, "conflicts with database.cloud_sql: the Pods' proxy on 127.0.0.1 is their only way to the instance. To pool, run a "+
					"pooler that reaches the instance through a proxy of its own, and give the pooler's address as database.host without cloud_sql")
				e.related("database.cloud_sql")
			}
		}
	}
	if p != nil && p.Mode == PoolTransaction && d == nil {
		e.add("database.direct", "must be set with database.pooler.mode = \"transaction\": db:prepare and db:migrate hold a session advisory lock, "+
			"and a transaction-mode pooler gives the server session that holds it to other clients between transactions (Mastodon's "+
			"documentation: migrations cannot run through PgBouncer). Give the database's own address, past the pooler")
		e.related("database.pooler", "database.pooler.mode")
	}
	if p != nil && p.MaxClientConnections < 0 {
		e.add("database.pooler.max_client_connections", "must not be negative")
	}
}

// objects: the direct connection's own password, in a Secret that only
// the migration Jobs read.
func (poolerFeature) objects(s *Spec, at stage) []Object {
	d := s.direct()
	if at != afterSecrets || d == nil || d.Password == "" || d.PasswordRef != nil {
		return nil
	}
	return []Object{NewObject(&corev1.Secret{
		TypeMeta:   typeMeta("v1", "Secret"),
		ObjectMeta: s.meta(s.DirectSecretName(), ComponentDatabaseDirect),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{EnvDBPassword: []byte(d.Password)},
	})}
}

// migration points a migration Job at the database itself: its DB_*
// variables take the place of the ConfigMap's (env over envFrom), and its
// DB_PASS of the instance's. The sslmode and the CA stay the database's.
func (poolerFeature) migration(s *Spec, pod *corev1.PodSpec) {
	d := s.direct()
	if d == nil {
		return
	}
	env := []corev1.EnvVar{{Name: "DB_HOST", Value: d.Host}, {Name: "DB_PORT", Value: strconv.Itoa(int(d.Port))}}
	if d.Name != "" {
		env = append(env, corev1.EnvVar{Name: "DB_NAME", Value: d.Name})
	}
	if d.User != "" {
		env = append(env, corev1.EnvVar{Name: "DB_USER", Value: d.User})
	}
	switch {
	case d.PasswordRef != nil:
		env = append(env, secretEnv(EnvDBPassword, d.PasswordRef.Name, d.PasswordRef.Key))
	case d.Password != "":
		env = append(env, secretEnv(EnvDBPassword, s.DirectSecretName(), EnvDBPassword))
	}
	setEnv(&pod.Containers[0], env...)
}

// setEnv sets variables of a container, each in the place of one of the
// same name.
func setEnv(c *corev1.Container, vars ...corev1.EnvVar) {
	for _, v := range vars {
		i := 0
		for ; i < len(c.Env) && c.Env[i].Name != v.Name; i++ {
		}
		if i == len(c.Env) {
			c.Env = append(c.Env, v)
		} else {
			c.Env[i] = v
		}
	}
}

// CheckPoolMode checks database.pooler.mode.
func CheckPoolMode(v string) error {
	if v == "statement" {
		return fmt.Errorf("statement mode refuses transactions of more than one statement, which Rails opens for every save: use transaction or session")
	}
	return checkOneOf(v, PoolModes)
}
