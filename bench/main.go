// Command bench measures what a Terraform user feels of the provider, on a
// real control plane: the API requests of one refresh, `terraform plan` time
// for N instances, apply time-to-ready against the cluster's own convergence,
// and the provider's peak memory. `make bench` runs it; it prints a table and
// writes the same numbers as JSON.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/provider"
)

// Row is one size's measurements.
type Row struct {
	Instances int `json:"instances"`
	// ApplySeconds is the apply that brought the fleet to this size;
	// ApplyFloorSeconds the cluster's floor for it: the objects of as many
	// instances as that apply added, applied at once and waited for.
	ApplySeconds      float64 `json:"apply_seconds"`
	ApplyFloorSeconds float64 `json:"apply_floor_seconds,omitempty"`
	// Refresh requests of one instance, counted by the provider (a counting
	// round-tripper per refresh): the largest and the mean over instances.
	RefreshRequestsMax  int64   `json:"refresh_requests_max"`
	RefreshRequestsMean float64 `json:"refresh_requests_mean"`
	// ClientRequests is the sum over one plan's refreshes; ServerLists is
	// the apiserver's apiserver_request_total{verb="LIST"} growth over the
	// same plan (other clients' lists included, so it may be a little higher).
	ClientRequests int64 `json:"client_requests"`
	ServerLists    int64 `json:"server_lists"`
	// Plan of the unchanged configuration, median of the runs.
	PlanWallSeconds float64   `json:"plan_wall_seconds"`
	PlanCPUSeconds  float64   `json:"plan_cpu_seconds"`
	PlanWallRuns    []float64 `json:"plan_wall_runs"`
	// The provider process's CPU time and peak resident memory in one more
	// plan, watched.
	ProviderCPUSeconds float64 `json:"provider_cpu_seconds"`
	ProviderPeakRSSMB  float64 `json:"provider_peak_rss_mb"`
	// One more instance applied next to the fleet: terraform's create of it
	// (apply_start to apply_complete) and the cluster's own convergence
	// (first object created to last one ready, seen by watches).
	TimeToReadySeconds   float64 `json:"time_to_ready_seconds"`
	ConvergenceSeconds   float64 `json:"convergence_seconds"`
	TimeToReadyOverheadP float64 `json:"time_to_ready_overhead_percent"`
}

// Report is what the JSON file holds.
type Report struct {
	Commit      string    `json:"commit"`
	Date        time.Time `json:"date"`
	Parallelism int       `json:"parallelism"`
	PlanRuns    int       `json:"plan_runs"`
	// NamespacedLists: the provider listed per namespace, as it does when
	// the credentials may not list across namespaces.
	NamespacedLists bool    `json:"namespaced_lists"`
	Rows            []Row   `json:"rows"`
	Slopes          []Slope `json:"slopes"`
}

// Slope is what one more instance costs between two sizes.
type Slope struct {
	From, To           int
	PlanWallSeconds    float64 `json:"plan_wall_seconds_per_instance"`
	PlanCPUSeconds     float64 `json:"plan_cpu_seconds_per_instance"`
	ClientRequests     float64 `json:"client_requests_per_instance"`
	ProviderPeakRSSMB  float64 `json:"provider_peak_rss_mb_per_instance"`
	ProviderCPUSeconds float64 `json:"provider_cpu_seconds_per_instance"`
}

// slopes are the costs per instance between consecutive sizes, and from the
// first size to the last.
func slopes(rows []Row) []Slope {
	var out []Slope
	slope := func(a, b Row) Slope {
		n := float64(b.Instances - a.Instances)
		per := func(x, y float64) float64 { return float64(int64((y-x)/n*1e6)) / 1e6 }
		return Slope{From: a.Instances, To: b.Instances,
			PlanWallSeconds: per(a.PlanWallSeconds, b.PlanWallSeconds), PlanCPUSeconds: per(a.PlanCPUSeconds, b.PlanCPUSeconds),
			ClientRequests:    per(float64(a.ClientRequests), float64(b.ClientRequests)),
			ProviderPeakRSSMB: per(a.ProviderPeakRSSMB, b.ProviderPeakRSSMB), ProviderCPUSeconds: per(a.ProviderCPUSeconds, b.ProviderCPUSeconds)}
	}
	for i := 1; i < len(rows); i++ {
		out = append(out, slope(rows[i-1], rows[i]))
	}
	if len(rows) > 2 {
		out = append(out, slope(rows[0], rows[len(rows)-1]))
	}
	return out
}

type bench struct {
	work, providerDir string
	parallelism       int
	floor             bool
	profile           string // folder for profiles, "" for none
	env               []string
	cs                kubernetes.Interface
}

func main() {
	sizes := flag.String("sizes", "1,10,50", "fleet sizes, in increasing order")
	runs := flag.Int("runs", 5, "plans per size (the median is reported)")
	parallelism := flag.Int("parallelism", 10, "terraform -parallelism")
	out := flag.String("out", "bench-results.json", "where to write the JSON report")
	providerDir := flag.String("provider-dir", "bin", "folder holding the built terraform-provider-mastodon")
	keep := flag.Bool("keep", false, "keep the fleet (skip the final destroy)")
	floor := flag.Bool("floor", true, "measure the cluster's floor for each apply (the same objects applied at once)")
	profileDir := flag.String("profile", "", "folder where one more plan at each size writes the provider's CPU and allocation profiles (n<size>/cpu-<pid>.pprof, heap-<pid>.pprof)")
	namespaced := flag.Bool("namespaced-lists", false, "make the provider list per namespace, as it does when the credentials may not list across namespaces (sets "+kube.NamespacedListsEnv+"=1)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("bench: ")

	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	check(err)
	cs, err := kubernetes.NewForConfig(cfg)
	check(err)
	abs, err := filepath.Abs(*providerDir)
	check(err)
	work, err := os.MkdirTemp("", "mastodon-bench-")
	check(err)
	rc := filepath.Join(work, "terraformrc")
	check(os.WriteFile(rc, fmt.Appendf(nil, "provider_installation {\n  dev_overrides {\n    \"tootform/mastodon\" = %q\n  }\n  direct {}\n}\n", abs), 0o600))
	b := &bench{work: work, providerDir: abs, parallelism: *parallelism, cs: cs, floor: *floor, profile: *profileDir,
		env: append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1")}

	if *namespaced {
		b.env = append(b.env, kube.NamespacedListsEnv+"=1")
	}
	report := Report{Commit: gitCommit(), Date: time.Now().UTC(), Parallelism: *parallelism, PlanRuns: *runs, NamespacedLists: *namespaced}
	fleet := filepath.Join(work, "fleet")
	check(os.MkdirAll(fleet, 0o755))
	err = b.measure(fleet, *sizes, *runs, &report)
	if len(report.Rows) > 0 {
		report.Slopes = slopes(report.Rows)
		printTable(report)
		data, jerr := json.MarshalIndent(report, "", "  ")
		check(jerr)
		check(os.WriteFile(*out, append(data, '\n'), 0o644))
		log.Printf("wrote %s", *out)
	}
	if *keep {
		log.Printf("kept the fleet: terraform -chdir=%s (TF_CLI_CONFIG_FILE=%s)", fleet, rc)
	} else {
		log.Printf("destroying the fleet")
		if out, derr := b.terraform(fleet, nil, "destroy", "-auto-approve", "-input=false", fmt.Sprintf("-parallelism=%d", b.parallelism)); derr != nil {
			log.Printf("destroy failed: %v\n%s", derr, tail(out, 20))
			err = errors.Join(err, derr)
		}
		_ = os.RemoveAll(work)
	}
	check(err)
}

// measure grows the fleet to each size and measures it.
func (b *bench) measure(fleet, sizes string, runs int, report *Report) error {
	prev := 0
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		row := Row{Instances: n}
		if err := os.WriteFile(filepath.Join(fleet, "main.tf"), []byte(fleetConfig("bench", n)), 0o644); err != nil {
			return err
		}
		log.Printf("N=%d: applying the fleet at -parallelism=%d", n, b.parallelism)
		start := time.Now()
		if out, err := b.terraform(fleet, nil, "apply", "-auto-approve", "-input=false", fmt.Sprintf("-parallelism=%d", b.parallelism)); err != nil {
			return fmt.Errorf("apply of %d instances failed: %w\n%s", n, err, tail(out, 40))
		}
		row.ApplySeconds = round(time.Since(start).Seconds())

		settle()
		log.Printf("N=%d: %d plans of the unchanged configuration", n, runs)
		var cpu []float64
		for range runs {
			wall, c, _, err := b.plan(fleet, false)
			if err != nil {
				return err
			}
			row.PlanWallRuns = append(row.PlanWallRuns, round(wall))
			cpu = append(cpu, c)
		}
		row.PlanWallSeconds, row.PlanCPUSeconds = round(median(row.PlanWallRuns)), round(median(cpu))
		// One more plan, watched: the provider's memory and CPU.
		_, _, prov, err := b.plan(fleet, true)
		if err != nil {
			return err
		}
		row.ProviderPeakRSSMB, row.ProviderCPUSeconds = prov.peakMB, round(prov.cpu)
		if b.profile != "" {
			if err := b.profilePlan(fleet, n); err != nil {
				return err
			}
		}

		log.Printf("N=%d: counting the requests of one refresh", n)
		if err := b.countRequests(fleet, &row); err != nil {
			return err
		}
		settle()
		log.Printf("N=%d: time-to-ready of one more instance", n)
		if err := b.timeToReady(&row, n); err != nil {
			return err
		}
		if b.floor {
			log.Printf("N=%d: the apply floor: %d instances applied at once", n, n-prev)
			if row.ApplyFloorSeconds, err = b.applyFloor(n - prev); err != nil {
				return err
			}
		}
		prev = n
		report.Rows = append(report.Rows, row)
	}
	return nil
}

// profilePlan runs one more plan (not timed: profiling slows it) with the
// provider writing its profiles into the size's folder.
func (b *bench) profilePlan(fleet string, n int) error {
	dir, err := filepath.Abs(filepath.Join(b.profile, fmt.Sprintf("n%d", n)))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	log.Printf("N=%d: one more plan, profiled into %s", n, dir)
	if out, err := b.terraform(fleet, []string{provider.ProfileEnv + "=" + dir}, "plan", "-input=false", "-lock=false", fmt.Sprintf("-parallelism=%d", b.parallelism)); err != nil {
		return fmt.Errorf("profiled plan: %w\n%s", err, tail(out, 40))
	}
	return nil
}

// fleetConfig is n instances of the representative configuration: embedded
// database and Redis, web x2, streaming, two Sidekiq processes, Ingress.
func fleetConfig(prefix string, n int) string {
	return fmt.Sprintf(`
terraform {
  required_providers {
    mastodon = { source = "tootform/mastodon" }
  }
}

resource "mastodon_instance" "fleet" {
  for_each            = toset([for i in range(%d) : format("%s-%%02d", i)])
  name                = "social"
  namespace           = each.key
  local_domain        = "${each.key}.bench.example"
  deletion_protection = false
  web                 = { replicas = 2 }
  streaming           = { replicas = 1 }
  sidekiq = [
    { name = "default", queues = ["default,8", "push,6", "ingress,4", "mailers,2", "pull", "fasp"] },
    { name = "scheduler", queues = ["scheduler"] },
  ]
  ingress           = { class_name = "nginx", tls_secret_name = "social-tls", wait_for_load_balancer = false }
  embedded_database = { delete_volume_on_destroy = true }
  embedded_redis    = { delete_volume_on_destroy = true }
  media             = { delete_volume_on_destroy = true }
}
`, n, prefix)
}

// terraform runs terraform in dir and returns its combined output.
func (b *bench) terraform(dir string, extraEnv []string, args ...string) ([]byte, error) {
	cmd := exec.Command("terraform", append([]string{"-chdir=" + dir}, args...)...)
	cmd.Env = append(slices.Clone(b.env), extraEnv...)
	return cmd.CombinedOutput()
}

// plan runs one `terraform plan` and returns its wall time, its CPU time
// (terraform and the provider: every waited-for descendant) and the
// provider's peak RSS in MB.
// With watch, it also follows the provider process (peak RSS and CPU) by
// polling /proc; timed runs go without, so the polling costs them nothing.
func (b *bench) plan(dir string, watch bool) (wall, cpu float64, prov providerUsage, err error) {
	var before syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &before)
	cmd := exec.Command("terraform", "-chdir="+dir, "plan", "-input=false", "-lock=false", "-detailed-exitcode", fmt.Sprintf("-parallelism=%d", b.parallelism))
	cmd.Env = b.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, prov, err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if watch {
		wg.Add(1)
		go func() { defer wg.Done(); prov = watchProvider(stop) }()
	}
	err = cmd.Wait()
	wall = time.Since(start).Seconds()
	close(stop)
	wg.Wait()
	var after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &after)
	cpu = tv(after.Utime) + tv(after.Stime) - tv(before.Utime) - tv(before.Stime)
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 2 {
		return wall, cpu, prov, fmt.Errorf("the plan of an unchanged configuration is not empty:\n%s", tail(out.Bytes(), 40))
	}
	if err != nil {
		return wall, cpu, prov, fmt.Errorf("plan: %w\n%s", err, tail(out.Bytes(), 40))
	}
	return wall, cpu, prov, nil
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// providerUsage is what the provider process used: its peak RSS (VmHWM)
// and its CPU time, as last seen before it exited.
type providerUsage struct{ peakMB, cpu float64 }

// watchProvider polls the provider processes until stop.
func watchProvider(stop <-chan struct{}) providerUsage {
	var u providerUsage
	cpu := map[string]float64{}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, dir := range processes(func(exe string) bool { return strings.Contains(exe, "terraform-provider-mastodon") }) {
			if status, err := os.ReadFile(filepath.Join(dir, "status")); err == nil {
				for _, line := range strings.Split(string(status), "\n") {
					if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
						kb, _ := strconv.ParseFloat(f[1], 64)
						u.peakMB = max(u.peakMB, kb/1024)
					}
				}
			}
			if c, ok := cpuSeconds(dir); ok {
				cpu[dir] = c // the last reading before the process exits
			}
		}
		select {
		case <-stop:
			for _, c := range cpu {
				u.cpu += c
			}
			u.peakMB = round(u.peakMB)
			return u
		case <-tick.C:
		}
	}
}

// processes are the /proc folders of the processes whose executable's name
// matches.
func processes(match func(exe string) bool) []string {
	var dirs []string
	procs, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, p := range procs {
		if exe, err := os.Readlink(p); err == nil && match(filepath.Base(exe)) {
			dirs = append(dirs, filepath.Dir(p))
		}
	}
	return dirs
}

// cpuSeconds reads a process's user and system time from /proc/<pid>/stat
// (after the command name, the 12th and 13th fields, in clock ticks of 1/100 s).
func cpuSeconds(dir string) (float64, bool) {
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(f) <= 12 {
		return 0, false
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100, true
}

// clusterProcesses are the local control plane's processes.
var clusterProcesses = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kwok-controller"}

// clusterCPU sums the CPU seconds of the local control plane's processes.
func clusterCPU() float64 {
	var total float64
	for _, dir := range processes(func(exe string) bool { return slices.Contains(clusterProcesses, exe) }) {
		c, _ := cpuSeconds(dir)
		total += c
	}
	return total
}

// settle waits (up to a minute) until the local control plane has finished
// the work an apply left it (Pods, endpoints, volumes): under 20% of a core
// over one second. A remote cluster has no local processes: no wait.
func settle() {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		before := clusterCPU()
		time.Sleep(time.Second)
		if clusterCPU()-before < 0.2 {
			return
		}
	}
	log.Printf("the cluster is still busy after a minute: measuring anyway")
}

var refreshLine = regexp.MustCompile(`refreshed the instance.*api_requests=(\d+)`)

// countRequests runs one plan with the provider's debug log and reads the
// requests of each refresh from it, and compares their sum with the
// apiserver's own count of list requests over the same plan.
func (b *bench) countRequests(dir string, row *Row) error {
	logPath := filepath.Join(b.work, "provider.log")
	_ = os.Remove(logPath)
	ctx := context.Background()
	before, err := b.serverLists(ctx)
	if err != nil {
		return err
	}
	if out, err := b.terraform(dir, []string{"TF_LOG_PROVIDER=DEBUG", "TF_LOG_PATH=" + logPath},
		"plan", "-input=false", "-lock=false", fmt.Sprintf("-parallelism=%d", b.parallelism)); err != nil {
		return fmt.Errorf("plan: %w\n%s", err, tail(out, 40))
	}
	after, err := b.serverLists(ctx)
	if err != nil {
		return err
	}
	row.ServerLists = after - before
	f, err := os.Open(logPath)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	var counts []int64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if m := refreshLine.FindStringSubmatch(sc.Text()); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			counts = append(counts, n)
		}
	}
	if len(counts) != row.Instances {
		return fmt.Errorf("found %d refreshes in the provider log, want %d", len(counts), row.Instances)
	}
	for _, n := range counts {
		row.ClientRequests += n
		row.RefreshRequestsMax = max(row.RefreshRequestsMax, n)
	}
	row.RefreshRequestsMean = round(float64(row.ClientRequests) / float64(len(counts)))
	return nil
}

var listMetric = regexp.MustCompile(`^apiserver_request_total\{[^}]*verb="LIST"[^}]*\} (\d+)`)

// serverLists sums apiserver_request_total over LIST requests.
func (b *bench) serverLists(ctx context.Context) (int64, error) {
	raw, err := b.cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading the apiserver's metrics: %w", err)
	}
	var sum int64
	for _, line := range strings.Split(string(raw), "\n") {
		if m := listMetric.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			sum += n
		}
	}
	// This scrape is a GET, not a LIST: nothing to subtract.
	return sum, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func round(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	commit := strings.TrimSpace(string(out))
	if dirty, _ := exec.Command("git", "status", "--porcelain").Output(); len(dirty) > 0 {
		commit += "-dirty"
	}
	return commit
}

func printTable(r Report) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintf(w, "N\tapply s\tfloor s\trefresh req/inst (max)\tclient req\tserver LISTs\tplan wall s\tplan CPU s\tprovider CPU s\tprovider RSS MB\ttime-to-ready s\tconvergence s\toverhead %%\t\n")
	for _, x := range r.Rows {
		_, _ = fmt.Fprintf(w, "%d\t%.1f\t%.1f\t%.1f (%d)\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.0f\t%.2f\t%.2f\t%.0f\t\n",
			x.Instances, x.ApplySeconds, x.ApplyFloorSeconds, x.RefreshRequestsMean, x.RefreshRequestsMax, x.ClientRequests, x.ServerLists,
			x.PlanWallSeconds, x.PlanCPUSeconds, x.ProviderCPUSeconds, x.ProviderPeakRSSMB, x.TimeToReadySeconds, x.ConvergenceSeconds, x.TimeToReadyOverheadP)
	}
	_ = w.Flush()
	if len(r.Slopes) > 0 {
		fmt.Println("\nper instance, between sizes:")
		w = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		_, _ = fmt.Fprintf(w, "N\tplan wall ms\tplan CPU ms\tclient req\tprovider CPU ms\tprovider RSS MB\t\n")
		for _, x := range r.Slopes {
			_, _ = fmt.Fprintf(w, "%d-%d\t%.1f\t%.1f\t%.2f\t%.1f\t%.3f\t\n", x.From, x.To,
				x.PlanWallSeconds*1000, x.PlanCPUSeconds*1000, x.ClientRequests, x.ProviderCPUSeconds*1000, x.ProviderPeakRSSMB)
		}
		_ = w.Flush()
	}
	mode := "cluster-wide lists where allowed"
	if r.NamespacedLists {
		mode = "per-namespace lists (" + kube.NamespacedListsEnv + "=1)"
	}
	fmt.Printf("commit %s, -parallelism=%d, plan: median of %d runs, %s\n", r.Commit, r.Parallelism, r.PlanRuns, mode)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
