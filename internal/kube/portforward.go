package kube

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// PortForwardURL is the API server's port-forward endpoint of one Pod.
func PortForwardURL(cfg *rest.Config, namespace, pod string) (*url.URL, error) {
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "" {
		u.Scheme = "https"
	}
	u.Path += fmt.Sprintf("/api/v1/namespaces/%s/pods/%s/portforward", url.PathEscape(namespace), url.PathEscape(pod))
	return u, nil
}

// PortForward forwards a port on 127.0.0.1, chosen by the system, to port
// of the Pod, through the API server only (as kubectl port-forward does).
// It returns the local port; the forward ends with ctx.
func PortForward(ctx context.Context, cfg *rest.Config, namespace, pod string, port int) (int, error) {
	u, err := PortForwardURL(cfg, namespace, pod)
	if err != nil {
		return 0, err
	}
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return 0, err
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	stop, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(port)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		return 0, err
	}
	errs := make(chan error, 1)
	go func() { errs <- fw.ForwardPorts() }()
	go func() { <-ctx.Done(); close(stop) }()
	select {
	case <-ready:
	case err := <-errs:
		return 0, fmt.Errorf("port-forward to %s/%s:%d: %w", namespace, pod, port, err)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	ports, err := fw.GetPorts()
	if err != nil {
		return 0, err
	}
	return int(ports[0].Local), nil
}
