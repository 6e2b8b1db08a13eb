package mastodon

import (
	"slices"
	"testing"
)

// Volumes names the claims Render makes, and the storage each asks for: a
// StatefulSet's claim is its template's name, the StatefulSet's and the
// ordinal (data-<StatefulSet>-0), the others are rendered as they are.
func TestVolumesAreTheRenderedClaims(t *testing.T) {
	s := defaultSpec()
	s.Embedded.StorageClass = "fast"
	s.Media.StorageClass = "shared"
	s.Backup = &Backup{Keep: 2, StorageSize: "3Gi", StorageClass: "cold"}
	rendered := map[string][2]string{} // claim: class, size
	for _, o := range s.Render(fixedSecrets, "") {
		u := o.Unstructured()
		switch o.Kind {
		case "PersistentVolumeClaim":
			rendered[o.Name] = claimStorage(u.Object)
		case "StatefulSet":
			spec := u.Object["spec"].(map[string]any)
			for _, c := range spec["volumeClaimTemplates"].([]any) {
				tmpl := c.(map[string]any)
				name := tmpl["metadata"].(map[string]any)["name"].(string)
				rendered[name+"-"+o.Name+"-0"] = claimStorage(tmpl)
			}
		}
	}
	var names []string
	for _, v := range s.Volumes() {
		names = append(names, v.Claim)
		if got := rendered[v.Claim]; got != [2]string{v.StorageClass, v.StorageSize} {
			t.Errorf("%s: rendered %v, Volumes says class %q size %q", v.Claim, got, v.StorageClass, v.StorageSize)
		}
	}
	if len(names) != len(rendered) {
		t.Errorf("Volumes %v, rendered claims %v", names, rendered)
	}
	want := []string{"data-social-postgresql-0", "data-social-redis-0", "social-media", "social-db-backup"}
	if !slices.Equal(names, want) {
		t.Errorf("Volumes = %v, want %v", names, want)
	}
	// An external database has no volume and no volume backup; a bucket
	// holds media (and backups) instead of volumes.
	s.Database = &Database{Host: "db"}
	s.MediaBucket = &MediaBucket{Bucket: "b"}
	if got := s.Volumes(); len(got) != 1 || got[0].Block != "embedded_redis" {
		t.Errorf("with an external database and a bucket: %v", got)
	}
}

func claimStorage(claim map[string]any) [2]string {
	spec := claim["spec"].(map[string]any)
	class, _ := spec["storageClassName"].(string)
	size := spec["resources"].(map[string]any)["requests"].(map[string]any)["storage"].(string)
	return [2]string{class, size}
}
