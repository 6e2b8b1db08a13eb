package mastodon

import (
	"fmt"
	"regexp"

	corev1 "k8s.io/api/core/v1"
)

// ComponentToken labels the Job that makes an access token (smoke tests).
const ComponentToken = "token"

// tokenScript makes an OAuth access token (scopes read and write) for a
// local account, as an app would get by signing in: a Doorkeeper
// application and an access token owned by the account's user. It prints
// the token on one line prefixed by "access-token: ".
const tokenScript = `cd /opt/mastodon && exec bin/rails runner '
user = Account.find_local!(ENV.fetch("TOKEN_USERNAME")).user
app = Doorkeeper::Application.find_or_create_by!(name: ENV.fetch("TOKEN_APP")) do |a|
  a.redirect_uri = Doorkeeper.configuration.native_redirect_uri
  a.scopes = "read write"
end
token = Doorkeeper::AccessToken.create!(application: app, resource_owner_id: user.id, scopes: "read write")
puts "access-token: #{token.token}"
'`

// TokenJob renders the Job that prints an access token for username. base
// is the Pod spec of the instance's web Deployment (image, configuration,
// volumes, sidecars). The token is in the Job's log: use it only on
// throwaway instances.
func TokenJob(namespace, instance, name string, base JobBase, username, app string) Object {
	env := []corev1.EnvVar{{Name: "TOKEN_USERNAME", Value: username}, {Name: "TOKEN_APP", Value: app}}
	return webPodJob(namespace, name, "token", base, env, tokenScript, Labels(instance, ComponentToken, OwnerInstance), 0)
}

var tokenLine = regexp.MustCompile(`(?m)^access-token: ([A-Za-z0-9_-]{20,})\s*$`)

// TokenFromLog finds the token a TokenJob printed.
func TokenFromLog(log string) (string, error) {
	m := tokenLine.FindStringSubmatch(log)
	if m == nil {
		return "", fmt.Errorf("no access token in the Job's log")
	}
	return m[1], nil
}
