package mastodon

// Volume is one of the instance's data volumes: the claim that holds it,
// the StatefulSet whose claim template makes it ("" for a claim rendered
// as it is), and what the configuration asks of it.
type Volume struct {
	Claim     string
	Component string
	// Block is the configuration block that sets its storage_class and
	// storage_size (embedded_database, embedded_redis, media, backup).
	Block        string
	StatefulSet  string
	StorageClass string // "" for the cluster's default class
	StorageSize  string
}

// Volumes are the instance's data volumes this configuration renders.
func (s *Spec) Volumes() []Volume {
	var out []Volume
	// A StatefulSet names the claim of its template "data" for its Pod 0
	// data-<StatefulSet>-0.
	if s.Database == nil {
		out = append(out, Volume{Claim: "data-" + s.DatabaseName() + "-0", Component: ComponentDatabase, Block: "embedded_database",
			StatefulSet: s.DatabaseName(), StorageClass: s.Embedded.StorageClass, StorageSize: s.Embedded.StorageSize})
	}
	if s.Redis == nil {
		out = append(out, Volume{Claim: "data-" + s.RedisName() + "-0", Component: ComponentRedis, Block: "embedded_redis",
			StatefulSet: s.RedisName(), StorageClass: s.EmbeddedRedis.StorageClass, StorageSize: s.EmbeddedRedis.StorageSize})
	}
	if s.MediaBucket == nil && s.Media.ExistingClaim == "" {
		out = append(out, Volume{Claim: s.MediaName(), Component: ComponentMedia, Block: "media",
			StorageClass: s.Media.StorageClass, StorageSize: s.Media.StorageSize})
	}
	for _, f := range features {
		out = append(out, f.volumes(s)...)
	}
	return out
}
