package mastodon

import (
	"fmt"
)

// QueueRoles say what stops working when no process serves a queue.
var QueueRoles = map[string]string{
	"default":   "most background work stops (home feeds, notifications, local posts reaching followers)",
	"push":      "posts, follows and replies never reach other servers (outgoing federation)",
	"ingress":   "activities other servers send are never processed (incoming federation)",
	"mailers":   "no mail goes out (sign-up confirmations, password resets)",
	"pull":      "remote posts, accounts, link previews and imports are never fetched",
	"scheduler": "the scheduled jobs of config/sidekiq.yml never run (scheduled posts, trends, clean-ups of users, IPs and old posts)",
	"fasp":      "Fediverse auxiliary service providers get no work",
}

// QueuesOf are the queues of a version's config/sidekiq.yml: fasp since
// 4.4.0. An unparsable version (a custom image) is read as the newest.
func QueuesOf(version string) []string {
	v, ok := Parse(version)
	if ok && (v.Major < 4 || (v.Major == 4 && v.Minor < 4)) {
		return slicesWithout(Queues, "fasp")
	}
	return Queues
}

func slicesWithout(in []string, drop string) []string {
	var out []string
	for _, q := range in {
		if q != drop {
			out = append(out, q)
		}
	}
	return out
}

// Connection budget.
const (
	// DefaultMaxConnections is PostgreSQL's default max_connections.
	DefaultMaxConnections int32 = 100
	// reservedConnections is PostgreSQL's default
	// superuser_reserved_connections: slots ordinary users never get.
	reservedConnections int32 = 3
	// streamingPool is the streaming server's pool without DB_POOL
	// (streaming/database.js: max: DB_POOL, default 10).
	streamingPool int32 = 10
	// tootctlConnections is what one tootctl Job holds: its --concurrency
	// (default 5) plus one (MASTODON.md).
	tootctlConnections int32 = 6
	// migrationConnections is what a db:prepare or db:migrate Job holds:
	// its connection and the advisory lock's.
	migrationConnections int32 = 2
)

// Connections is the database connections an instance may hold at once,
// at full scale, by part. Behind a pooler, Direct are the migration Jobs'
// connections to the database itself (Database.Direct), and the other
// parts go through the pooler.
type Connections struct {
	Web, Sidekiq, Streaming, Jobs, Direct int32
}

// Total is the sum of the parts.
func (c Connections) Total() int32 { return c.Web + c.Sidekiq + c.Streaming + c.Jobs + c.Direct }

// Pooled is what goes through the pooler, when there is one.
func (c Connections) Pooled() int32 { return c.Total() - c.Direct }

func (c Connections) String() string {
	direct := ""
	if c.Direct > 0 {
		direct = fmt.Sprintf(", direct %d", c.Direct)
	}
	return fmt.Sprintf("%d (web %d, Sidekiq %d, streaming %d, Jobs %d%s)", c.Total(), c.Web, c.Sidekiq, c.Streaming, c.Jobs, direct)
}

// fullScale is the most Pods a component runs: its replicas, its
// autoscaler's maximum, or one when another controller scales it (its
// maximum is not ours to know).
func fullScale(replicas int32, a *Autoscaling) int32 {
	switch {
	case a != nil:
		return a.MaxReplicas
	case replicas == ScaledElsewhere:
		return 1
	}
	return replicas
}

// Connections sums what every process and Job may hold: each Puma thread
// of each worker (config/puma.rb: WEB_CONCURRENCY workers of MAX_THREADS
// threads; config/database.yml: pool DB_POOL, default MAX_THREADS), each
// Sidekiq thread (its DB_POOL is its concurrency), streaming's pool
// (streaming/database.js: DB_POOL, default 10; streaming is one process
// since 4.3, STREAMING_CLUSTER_NUM is read no more), and the Jobs that may
// run beside them: a migration, an account's tootctl, and the features'
// Jobs (each scheduled tootctl task, the search index build, the backup).
func (s *Spec) Connections() Connections {
	var c Connections
	c.Web = fullScale(s.WebReplicas, s.WebAutoscaling) * s.WebConcurrency * s.MaxThreads
	for _, p := range s.Sidekiq {
		c.Sidekiq += fullScale(p.Replicas, p.Autoscaling) * p.Concurrency
	}
	pool := streamingPool
	if s.Database != nil && s.Database.Pool > 0 {
		pool = s.Database.Pool // the ConfigMap's DB_POOL reaches streaming too
	}
	c.Streaming = fullScale(s.StreamReplicas, s.StreamAutoscaling) * pool
	c.Jobs = 2 * migrationConnections // a migration, an account's tootctl
	if s.direct() != nil {
		// The migration reaches the database itself (poolerFeature).
		c.Jobs, c.Direct = migrationConnections, migrationConnections
	}
	for _, f := range features {
		c.Jobs += f.connections(s)
	}
	return c
}

// EmbeddedMaxConnections is the max_connections the embedded PostgreSQL
// runs with: PostgreSQL's default while the budget fits in it, else the
// budget rounded up to a hundred, so that only crossing a hundred changes
// it (a change restarts PostgreSQL).
func (s *Spec) EmbeddedMaxConnections() int32 {
	need := s.Connections().Total() + reservedConnections
	if need <= DefaultMaxConnections {
		return DefaultMaxConnections
	}
	return (need + 99) / 100 * 100
}

// validateContracts refuses what Mastodon cannot run.
func (s *Spec) validateContracts(e *fieldErrors) {
	add, related := e.add, e.related
	if d := s.Database; d != nil && d.CloudSQL == nil && (d.SSLMode == "verify-ca" || d.SSLMode == "verify-full") && d.CACertificatePEM == "" {
		add("database.sslmode", "%s verifies the server's certificate against a CA, and none is given: libpq then looks for ~/.postgresql/root.crt, "+
			"which the image does not have, and every connection fails. Give database.ca_certificate_pem, or use require (TLS without verification)", d.SSLMode)
		related("database.cloud_sql", "database.ca_certificate_pem")
	}
	if d := s.Database; d != nil && d.Pool > 0 && d.Pool < s.MaxThreads {
		add("database.pool", "%d is below web.max_threads (%d): DB_POOL is each Puma worker's pool (config/database.yml), and a thread that finds "+
			"no free connection waits, then fails with ActiveRecord::ConnectionTimeoutError. Give at least %d, or leave it unset (it then follows max_threads)",
			d.Pool, s.MaxThreads, s.MaxThreads)
		related("web.max_threads")
	}
	if d := s.Database; d != nil && d.MaxConnections < 0 {
		add("database.max_connections", "must not be negative")
	}
	s.validateQueuesServed(add, related)
}

// validateQueuesServed refuses a list of Sidekiq processes in which a queue
// of the version is worked by nobody: config/sidekiq.yml has no default
// for a queue left out of every -q, and the scheduler runs only in a
// process that serves scheduler (listened_queues_only).
func (s *Spec) validateQueuesServed(add func(path, format string, args ...any), related func(paths ...string)) {
	if len(s.Sidekiq) == 0 {
		return
	}
	// Sidekiq stopped as a whole, on purpose (a restore): queues wait.
	stopped := true
	for _, p := range s.Sidekiq {
		stopped = stopped && p.Replicas == 0
	}
	for _, q := range QueuesOf(s.Version) {
		listed, running := false, false
		for _, p := range s.Sidekiq {
			if p.serves(q) {
				listed = true
				if p.Replicas != 0 {
					running = true
				}
			}
		}
		switch {
		case !listed:
			add("sidekiq", "no process serves the %s queue: %s. Add it to a process's queues", q, QueueRoles[q])
		case !running && !stopped:
			add("sidekiq", "every process serving the %s queue has 0 replicas: %s. Give one of them a replica", q, QueueRoles[q])
		default:
			continue
		}
		related("version")
	}
}

// contractWarnings are what Mastodon allows but will likely not work as meant.
func (s *Spec) contractWarnings() []FieldError {
	var out fieldErrors
	if p := s.pooler(); p != nil && p.MaxClientConnections > 0 {
		if c := s.Connections(); c.Pooled() > p.MaxClientConnections {
			out.add("database.pooler.max_client_connections", "at full scale the instance may open %d connections to the pooler (%s), more "+
				"than its %d: past it the pooler refuses clients and requests fail. Raise the pooler's limit, or lower replicas, web.max_threads, "+
				"concurrency or database.pool", c.Pooled(), c, p.MaxClientConnections)
			out.related("web", "streaming", "sidekiq", "backup", "maintenance", "opensearch", "database.direct")
		}
	}
	if d := s.Database; d != nil {
		limit := d.MaxConnections
		if limit == 0 {
			limit = DefaultMaxConnections
		}
		// Behind a pooler the server sees the pooler's own connections
		// (its pool size, not ours to know) and the direct ones.
		if c := s.Connections(); d.Pooler == nil && c.Total() > limit-reservedConnections {
			out.add("database", "at full scale the instance may hold %s database connections, more than the %d that max_connections = %d leaves "+
				"(%d are reserved for superusers): past it PostgreSQL refuses connections and requests fail. Raise the server's max_connections "+
				"(and give it as database.max_connections), put a pooler in front, or lower replicas, web.max_threads, concurrency or database.pool",
				c, limit-reservedConnections, limit, reservedConnections)
			// The blocks whose Pods and jobs hold connections (Connections).
			out.related("web", "streaming", "sidekiq", "backup", "maintenance", "opensearch")
		}
	}
	return out
}
