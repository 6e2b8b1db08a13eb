// Package mastodon holds what the provider knows about Mastodon, as pure Go:
// the labels that identify an instance's objects, its configuration, the
// objects it renders. It knows nothing of Terraform or of a live cluster.
//
// # Core and features
//
// The core of an instance (spec.go, render.go: names, domains, version,
// web, streaming, Sidekiq, database, Redis, volumes, settings) is always
// there. Each optional feature (search, translation, metrics, maintenance,
// backup, restore, autoscaling, Cloud SQL, ingress, SMTP, media bucket) is a unit:
// one file holds its types (its part of Spec), its defaults, its
// validation and its rendering (environment, Pod changes, objects), and
// one line of the features table (features.go) registers it. Defaults,
// Validate, Warnings, Environment, Render, Connections and Volumes do the
// core's part, then ask each feature in the table's order; the core
// knows no feature.
//
// # Adding a feature
//
//  1. Write <feature>.go: its types, and a type <feature>Feature that
//     embeds noFeature and overrides the methods of the feature interface
//     it needs. Each method does nothing while the feature is off (its
//     part of Spec nil); validate names attribute paths as the provider's
//     schema spells them and checks what spans several attributes (a rule
//     of one attribute alone is an exported Check function, such as
//     CheckSearchPrefix, that the provider's schema runs as a validator);
//     objects returns the feature's objects at the stage of Render where
//     they belong.
//  2. Add its field to Spec (spec.go) and its line to the features table,
//     last: the table's order is the order of the features' objects, Pod
//     volumes and checksum inputs, which an existing instance must keep
//     (a change rolls its Pods).
//
// Its Terraform side is one file of internal/provider and one line of the
// provider's own table.
package mastodon
