package mastodon

// What the instance's data belongs to. The generated secrets' Secret and
// the data volumes' claims outlive a destroy (unless the user says
// otherwise); they carry the local domain and the instance name they were
// made for, so that an instance created again on them can tell whether
// they are its own. Mastodon cannot move data to another domain:
// LOCAL_DOMAIN is in every local account's address, and its keys sign for
// it.
const (
	AnnotationLocalDomain = "mastodon.tootform.dev/local-domain"
	AnnotationInstance    = "mastodon.tootform.dev/instance"
)

// DataMarks are the annotations the instance's data carries.
func (s *Spec) DataMarks() map[string]string {
	return map[string]string{AnnotationLocalDomain: s.LocalDomain, AnnotationInstance: s.Name}
}
