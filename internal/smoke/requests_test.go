package smoke

import (
	"bytes"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"testing"
)

var c = Client{Base: "http://127.0.0.1:4321", Domain: "social.example", Token: "tok"}

// Every request reaches the forwarded Pod under the instance's domain (Rails
// answers other hosts "Blocked host") as if through TLS (production Rails
// redirects plain HTTP to https), with the owner's token.
func TestRequestsAddressTheInstance(t *testing.T) {
	build := map[string]func() (*http.Request, error){
		"health":    func() (*http.Request, error) { return c.Health("/health") },
		"instance":  c.Instance,
		"media":     func() (*http.Request, error) { return c.Media("42") },
		"status":    func() (*http.Request, error) { return c.Status("7") },
		"post":      func() (*http.Request, error) { return c.PostStatus("hello", "42") },
		"upload":    func() (*http.Request, error) { return c.UploadMedia("a.png", TestImage(1)) },
		"streaming": func() (*http.Request, error) { return c.Health("/api/v1/streaming/health") },
	}
	paths := map[string]string{"health": "/health", "instance": "/api/v2/instance", "media": "/api/v1/media/42",
		"status": "/api/v1/statuses/7", "post": "/api/v1/statuses", "upload": "/api/v2/media", "streaming": "/api/v1/streaming/health"}
	for name, b := range build {
		r, err := b()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.URL.Host != "127.0.0.1:4321" || r.URL.Path != paths[name] {
			t.Errorf("%s: %s, want 127.0.0.1:4321%s", name, r.URL, paths[name])
		}
		if r.Host != "social.example" || r.Header.Get("X-Forwarded-Proto") != "https" || r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("%s: Host %q, X-Forwarded-Proto %q, Authorization %q", name, r.Host, r.Header.Get("X-Forwarded-Proto"), r.Header.Get("Authorization"))
		}
	}
	if r, _ := (Client{Base: c.Base, Domain: c.Domain}).Instance(); r.Header.Get("Authorization") != "" {
		t.Error("a request without a token sends an Authorization header")
	}
}

func TestPostStatusForm(t *testing.T) {
	r, err := c.PostStatus("hello & goodbye", "42", "43")
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("%s %s", r.Method, r.Header.Get("Content-Type"))
	}
	body, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	if form.Get("status") != "hello & goodbye" || len(form["media_ids[]"]) != 2 || form["media_ids[]"][1] != "43" || form.Get("visibility") != "public" {
		t.Errorf("form %v", form)
	}
}

// The upload is the multipart field "file" Mastodon's media API reads, with
// the image's bytes and type.
func TestUploadMediaMultipart(t *testing.T) {
	img := TestImage(9)
	if _, err := png.Decode(bytes.NewReader(img)); err != nil {
		t.Fatalf("the test image is not a PNG: %v", err)
	}
	r, err := c.UploadMedia("smoke.png", img)
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("content type %q: %v", r.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	form, err := mr.ReadForm(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	files := form.File["file"]
	if len(files) != 1 || files[0].Filename != "smoke.png" || files[0].Header.Get("Content-Type") != "image/png" {
		t.Fatalf("file parts %v", files)
	}
	f, _ := files[0].Open()
	got, _ := io.ReadAll(f)
	if !bytes.Equal(got, img) {
		t.Error("the uploaded bytes differ from the image")
	}
	if bytes.Equal(TestImage(1), TestImage(2)) {
		t.Error("test images of different seeds are equal")
	}
}

// Media URLs of this instance are fetched from the forwarded Pod; URLs of
// another host (a bucket, a CDN) are refused rather than contacted.
func TestAssetStaysOnTheForward(t *testing.T) {
	r, err := c.Asset("https://social.example/system/media_attachments/files/1/original/a.png")
	if err != nil {
		t.Fatal(err)
	}
	if r.URL.String() != "http://127.0.0.1:4321/system/media_attachments/files/1/original/a.png" || r.Host != "social.example" {
		t.Errorf("%s Host %s", r.URL, r.Host)
	}
	if _, err := c.Asset("https://files.example.com/a.png"); err == nil {
		t.Error("an asset on another host was not refused")
	}
}
