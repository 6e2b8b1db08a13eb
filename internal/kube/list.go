package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ListConfigMapsAndDeployments lists, with one request each, the ConfigMaps
// and Deployments that match a label selector, in one namespace or (with
// namespace "") in all of them.
func (c *Client) ListConfigMapsAndDeployments(ctx context.Context, namespace, selector string) ([]corev1.ConfigMap, []appsv1.Deployment, error) {
	opts := metav1.ListOptions{LabelSelector: selector}
	cms, err := c.Clientset.CoreV1().ConfigMaps(namespace).List(ctx, opts)
	if err != nil {
		return nil, nil, c.Explain(err, "listing ConfigMaps", namespace)
	}
	deps, err := c.Clientset.AppsV1().Deployments(namespace).List(ctx, opts)
	if err != nil {
		return nil, nil, c.Explain(err, "listing Deployments", namespace)
	}
	return cms.Items, deps.Items, nil
}

// Explain turns a client error into one that says what was being done, where,
// and what the cluster answered.
func (c *Client) Explain(err error, doing, namespace string) error {
	where := "in all namespaces"
	if namespace != "" {
		where = fmt.Sprintf("in namespace %q", namespace)
	}
	var uerr *url.Error
	var nerr net.Error
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s %s: forbidden: the credentials lack the RBAC permission (%w)", doing, where, err)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s %s: the Kubernetes API server at %s refused the credentials as unauthorized: %w", doing, where, c.REST.Host, err)
	case errors.As(err, &uerr), errors.As(err, &nerr):
		return fmt.Errorf("%s %s: cannot reach the Kubernetes API server at %s: %w", doing, where, c.REST.Host, err)
	}
	return fmt.Errorf("%s %s: %w", doing, where, err)
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }
