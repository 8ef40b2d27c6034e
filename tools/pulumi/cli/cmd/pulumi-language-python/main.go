// Command pulumi-language-python is the project's own Python language host for the Pulumi
// CLI: the published one lives in a Go module the module proxy does not serve here, so this
// small host covers what preview/up/refresh/destroy, `pulumi install`, `pulumi about` and
// Python policy packs ask of a language host, using the Python toolchain code of the Pulumi
// SDK module (virtualenv/pip/uv/poetry handling).
//
// Programs are run by pulumi-language-python-exec, the SDK's own launcher script, which
// must sit beside this binary.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// The launcher script's exit code for "the user was already shown an error": the engine is
// then told to bail out without printing a second, less useful message.
const exitShownToUser = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	launcher string // path of pulumi-language-python-exec
	engine   string // engine gRPC address
	tracing  string
}

func main() {
	tracing := flag.String("tracing", "", "Zipkin-compatible tracing endpoint")
	// Flags older engines passed; accepted and ignored (options now come in each request).
	for _, name := range []string{"virtualenv", "root", "typechecker", "toolchain"} {
		flag.String(name, "", "obsolete")
	}
	flag.Parse()
	logging.InitLogging(false, 0, false)
	cmdutil.InitTracing("pulumi-language-python", "pulumi-language-python", *tracing)

	self, err := os.Executable()
	if err != nil {
		cmdutil.Exit(fmt.Errorf("locating this executable: %w", err))
	}
	launcher := filepath.Join(filepath.Dir(self), "pulumi-language-python-exec")
	if _, err := os.Stat(launcher); err != nil {
		cmdutil.Exit(fmt.Errorf("missing launcher script: %w", err))
	}

	h := &host{launcher: launcher, tracing: *tracing}
	if flag.NArg() > 0 {
		h.engine = flag.Arg(0)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	cancel := make(chan bool)
	go func() { <-ctx.Done(); stop(); close(cancel) }()
	if h.engine != "" {
		// Exit when the engine goes away instead of lingering as an orphan.
		if err := rpcutil.Healthcheck(ctx, h.engine, 5*time.Minute, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("starting the engine health check: %w", err))
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(s *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(s, h)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("starting the language host server: %w", err))
	}
	fmt.Printf("%d\n", handle.Port) // the engine reads the port from the first stdout line
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host server stopped: %w", err))
	}
}

// pythonOptions reads Pulumi.yaml's runtime options (virtualenv, toolchain, typechecker).
// A plugin (policy pack) without a virtualenv option gets "venv", as the published host does.
func pythonOptions(info *pulumirpc.ProgramInfo, forPlugin bool) (toolchain.PythonOptions, error) {
	opts := toolchain.PythonOptions{Root: info.GetRootDirectory(), ProgramDir: info.GetProgramDirectory()}
	raw := info.GetOptions().AsMap()
	str := func(key string) (string, error) {
		v, ok := raw[key]
		if !ok {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("runtime option %q must be a string", key)
		}
		return s, nil
	}
	var err error
	if opts.Virtualenv, err = str("virtualenv"); err != nil {
		return opts, err
	}
	tc, err := str("toolchain")
	if err != nil {
		return opts, err
	}
	switch tc {
	case "":
	case "pip":
		opts.Toolchain = toolchain.Pip
	case "uv":
		opts.Toolchain = toolchain.Uv
	case "poetry":
		opts.Toolchain = toolchain.Poetry
	default:
		return opts, fmt.Errorf("unsupported toolchain %q", tc)
	}
	if checker, err := str("typechecker"); err != nil {
		return opts, err
	} else if checker != "" {
		return opts, fmt.Errorf("runtime option typechecker=%s is not supported by this language host", checker)
	}
	if forPlugin && opts.Virtualenv == "" && (opts.Toolchain == toolchain.Pip || opts.Toolchain == toolchain.Auto) {
		opts.Virtualenv = "venv"
	}
	return opts, nil
}

func resolve(info *pulumirpc.ProgramInfo, forPlugin bool) (toolchain.Toolchain, error) {
	opts, err := pythonOptions(info, forPlugin)
	if err != nil {
		return nil, err
	}
	return toolchain.ResolveToolchain(opts)
}

// listPulumiPackages prints, for every installed distribution that carries a
// pulumi-plugin.json (or is named pulumi-*/pulumi_*), its name, version and that file.
const listPulumiPackages = `
import importlib.metadata as md, json, re
out = []
for d in md.distributions():
    name = d.metadata["Name"] or ""
    norm = re.sub(r"[-_.]+", "-", name).lower()
    found = ""
    for f in d.files or []:
        if f.name == "pulumi-plugin.json" and len(f.parts) == 2:
            found = str(d.locate_file(f))
            break
    if found or norm.startswith("pulumi-"):
        out.append({"name": norm, "version": d.version, "pluginJson": found})
print(json.dumps(out))
`

// Packages that are never a resource plugin although their name says pulumi-.
var noPlugin = map[string]bool{"pulumi-policy": true, "pulumi-esc-sdk": true}

var plainVersion = regexp.MustCompile(`^\d+(\.\d+)*$`)

func (h *host) GetRequiredPackages(ctx context.Context,
	req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	tc, err := resolve(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	if err := tc.EnsureVenv(ctx, req.GetInfo().GetProgramDirectory(), false, true, os.Stdout, os.Stderr); err != nil {
		return nil, err
	}
	cmd, err := tc.Command(ctx, "-c", listPulumiPackages)
	if err != nil {
		return nil, err
	}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing the installed Pulumi packages: %w", err)
	}
	var dists []struct{ Name, Version, PluginJSON string }
	if err := json.Unmarshal(out, &dists); err != nil {
		return nil, fmt.Errorf("reading the installed Pulumi packages: %w", err)
	}
	resp := &pulumirpc.GetRequiredPackagesResponse{}
	for _, d := range dists {
		if noPlugin[d.Name] {
			continue
		}
		dep := &pulumirpc.PackageDependency{Kind: "resource", Name: strings.TrimPrefix(d.Name, "pulumi-")}
		ver := d.Version
		if d.PluginJSON != "" {
			pj, err := plugin.LoadPulumiPluginJSON(d.PluginJSON)
			if err != nil {
				return nil, err
			}
			if !pj.Resource {
				continue
			}
			if pj.Name != "" {
				dep.Name = pj.Name
			}
			if pj.Version != "" {
				ver = pj.Version
			}
			dep.Server = pj.Server
			if p := pj.Parameterization; p != nil {
				dep.Parameterization = &pulumirpc.PackageParameterization{
					Name: p.Name, Version: p.Version, Value: p.Value,
				}
			}
		}
		if !plainVersion.MatchString(ver) && !strings.Contains(ver, "-") {
			continue // a PEP 440 pre-release whose plugin version cannot be derived
		}
		for strings.Count(ver, ".") < 2 && plainVersion.MatchString(ver) {
			ver += ".0"
		}
		dep.Version = "v" + strings.TrimPrefix(ver, "v")
		resp.Packages = append(resp.Packages, dep)
	}
	return resp, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	tc, err := resolve(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}

	args := []string{h.launcher}
	flagArg := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flagArg("monitor", req.GetMonitorAddress())
	flagArg("engine", h.engine)
	flagArg("project", req.GetProject())
	flagArg("root_directory", req.GetInfo().GetRootDirectory())
	flagArg("stack", req.GetStack())
	flagArg("pwd", req.GetPwd())
	flagArg("dry_run", strconv.FormatBool(req.GetDryRun()))
	flagArg("parallel", strconv.Itoa(int(req.GetParallel())))
	flagArg("tracing", h.tracing)
	flagArg("organization", req.GetOrganization())
	entry := req.GetInfo().GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	args = append(append(args, entry), req.GetArgs()...)

	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return nil, err
	}
	configMap := req.GetConfig()
	if configMap == nil {
		configMap = map[string]string{} // "null" would break the SDK's config loading
	}
	config, err := json.Marshal(configMap)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secrets, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "PULUMI_CONFIG="+string(config), "PULUMI_CONFIG_SECRET_KEYS="+string(secrets))
	// The engine shows this process's stdout/stderr as the program's output.
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr

	logging.V(5).Infof("language host running %v", cmd.Args)
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == exitShownToUser:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with non-zero exit code: %d", exitErr.ExitCode())}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run the Python launcher: %v", err)}, nil
	}
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// InstallDependencies creates the virtualenv if needed and installs requirements.txt (or runs
// uv/poetry): `pulumi install`, `pulumi new`, and a policy pack's first use.
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	tc, err := resolve(req.GetInfo(), req.GetIsPlugin())
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	if err := tc.InstallDependencies(server.Context(), req.GetInfo().GetProgramDirectory(),
		req.GetUseLanguageVersionTools(), true, stdout, stderr); err != nil {
		return err
	}
	return closer.Close()
}

func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	tc, err := resolve(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: info.PythonExecutable, Version: info.PythonVersion.String()}, nil
}

func (h *host) GetProgramDependencies(ctx context.Context,
	req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	tc, err := resolve(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	pkgs, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, p := range pkgs {
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return resp, nil
}

// RunPlugin runs a Python plugin directory (a policy pack, or a provider written in Python)
// as `python <dir> <args>` in its own virtualenv ("venv" unless PulumiPolicy.yaml or
// PulumiPlugin.yaml names one), streaming its output to the engine.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	tc, err := resolve(req.GetInfo(), true)
	if err != nil {
		return err
	}
	dir := req.GetInfo().GetProgramDirectory()
	if _, err := os.Stat(filepath.Join(dir, "__main__.py")); err != nil {
		return fmt.Errorf("plugin %s has no __main__.py: %w", dir, err)
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	// A local policy pack is not installed by the CLI: create its virtualenv from its
	// requirements.txt on first use. Output goes to stderr: the engine reads the plugin's
	// port from its stdout.
	if err := tc.EnsureVenv(server.Context(), dir, false, true, stderr, stderr); err != nil {
		return fmt.Errorf("preparing the virtualenv of plugin %s: %w", dir, err)
	}
	cmd, err := tc.Command(server.Context(), append([]string{dir}, req.GetArgs()...)...)
	if err != nil {
		return err
	}
	cmd.Dir = req.GetPwd()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, req.GetEnv()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr

	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return server.Send(&pulumirpc.RunPluginResponse{
				Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exitErr.ExitCode())},
			})
		}
		return fmt.Errorf("could not run plugin %s: %w", dir, err)
	}
	return closer.Close()
}
