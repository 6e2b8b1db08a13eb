// Package smoke checks that a real Mastodon works from what the provider
// renders, as the seed deployment's author accepted one: health, the
// instance API with its domain, streaming health, a status with an image
// posted by the owner and served back. Requests go through port-forwards of
// the API server (internal/kube.PortForward): nothing else is contacted.
package smoke

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// Client builds requests to one instance reached at base (a forwarded
// http://127.0.0.1:port) under its domain.
type Client struct {
	Base   string // http://127.0.0.1:<port> of a web Pod
	Domain string // LOCAL_DOMAIN (or WEB_DOMAIN)
	Token  string // an access token, for the calls that need one
}

// newRequest sets what Mastodon needs behind a TLS-terminating proxy: the
// Host it serves (other hosts are "Blocked host"), and X-Forwarded-Proto,
// without which production Rails redirects every path but /health to https.
func (c Client) newRequest(method, path string, body *bytes.Buffer, contentType string) (*http.Request, error) {
	var r *http.Request
	var err error
	if body == nil {
		r, err = http.NewRequest(method, c.Base+path, nil)
	} else {
		r, err = http.NewRequest(method, c.Base+path, body)
	}
	if err != nil {
		return nil, err
	}
	r.Host = c.Domain
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("Accept", "application/json")
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		r.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return r, nil
}

// Health is GET /health (web) or /api/v1/streaming/health (streaming).
func (c Client) Health(path string) (*http.Request, error) {
	return c.newRequest(http.MethodGet, path, nil, "")
}

// Instance is GET /api/v2/instance, whose "domain" is LOCAL_DOMAIN.
func (c Client) Instance() (*http.Request, error) {
	return c.newRequest(http.MethodGet, "/api/v2/instance", nil, "")
}

// UploadMedia is POST /api/v2/media with the image as the multipart field "file".
func (c Client) UploadMedia(filename string, img []byte) (*http.Request, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, filename))
	h.Set("Content-Type", "image/png")
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, err
	}
	if _, err := part.Write(img); err != nil {
		return nil, err
	}
	if err := w.WriteField("description", "a smoke test image"); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return c.newRequest(http.MethodPost, "/api/v2/media", &body, w.FormDataContentType())
}

// Media is GET /api/v1/media/:id (an upload still processing answers 206).
func (c Client) Media(id string) (*http.Request, error) {
	return c.newRequest(http.MethodGet, "/api/v1/media/"+url.PathEscape(id), nil, "")
}

// PostStatus is POST /api/v1/statuses with the text and the uploaded media.
func (c Client) PostStatus(text string, mediaIDs ...string) (*http.Request, error) {
	form := url.Values{"status": {text}, "visibility": {"public"}}
	for _, id := range mediaIDs {
		form.Add("media_ids[]", id)
	}
	return c.newRequest(http.MethodPost, "/api/v1/statuses", bytes.NewBufferString(form.Encode()), "application/x-www-form-urlencoded")
}

// Status is GET /api/v1/statuses/:id.
func (c Client) Status(id string) (*http.Request, error) {
	return c.newRequest(http.MethodGet, "/api/v1/statuses/"+url.PathEscape(id), nil, "")
}

// Asset is GET of a URL Mastodon gave out (https://<domain>/system/...),
// sent to the forwarded web Pod, which serves the media volume itself.
func (c Client) Asset(assetURL string) (*http.Request, error) {
	u, err := url.Parse(assetURL)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(u.Host, c.Domain) {
		return nil, fmt.Errorf("%s is not served by %s", assetURL, c.Domain)
	}
	r, err := c.newRequest(http.MethodGet, u.EscapedPath(), nil, "")
	if err != nil {
		return nil, err
	}
	r.Header.Set("Accept", "*/*")
	return r, nil
}

// TestImage is a small PNG, different each time seed differs.
func TestImage(seed uint8) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for x := range 16 {
		for y := range 16 {
			img.Set(x, y, color.RGBA{R: seed, G: uint8(x * 16), B: uint8(y * 16), A: 255})
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}
