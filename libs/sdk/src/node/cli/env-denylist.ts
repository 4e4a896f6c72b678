/**
 * The environment variables `flagstream run` never sets from a secret or config value, whatever
 * `--env-prefix` gives and whatever `--allow-override` says.
 *
 * Why: in `--mode env` a value's *path* picks the variable's name, and whoever may write a path
 * (an editor, who can write secrets without being able to read them) is not whoever reads it
 * (the server key, often granted `**`, and the program it starts). These variables are read by the
 * dynamic loader, shells, language runtimes and common tools *before or around* the program's own
 * code, and turn a value into code or into trust: `NODE_OPTIONS=--import=data:text/javascript,…`,
 * `LD_PRELOAD=…`, `BASH_ENV=…`, `PYTHONWARNINGS` importing a module, `GIT_SSH_COMMAND`,
 * `PAGER`, `GIT_CONFIG_COUNT` setting `core.sshCommand`, a CA bundle that lets someone read the
 * child's TLS traffic, a `PATH` or `TMPDIR` pointing elsewhere. An editor who wrote `node_options`
 * would run their code in the child, with every secret it was given. So these names are refused
 * outright: the run stops (exit code 1) naming the variable and the path, never the value.
 *
 * `names` are whole names, `prefixes` cover families (`LD_PRELOAD`, `LD_AUDIT`, `DYLD_INSERT_LIBRARIES`,
 * `GCONV_PATH`, `npm_config_script_shell`…). Both are compared without regard to case: Windows
 * treats variable names so, and npm reads `npm_config_*` in any case. Only the listed `NODE_*`
 * names are here (`NODE_ENV` and its like stay usable). `--mode pipe` and `--mode socket` set no
 * variable from a value, so none of this applies to them.
 */
export const ENV_DENYLIST: { readonly names: readonly string[]; readonly prefixes: readonly string[] } = Object.freeze({
  names: Object.freeze([
    // Shells and the process itself: what runs, where it looks, what a shell sources first.
    'PATH',
    'HOME',
    'SHELL',
    'IFS',
    'ENV',
    'BASH_ENV',
    'CDPATH',
    'PS4',
    'PROMPT_COMMAND',
    'TMPDIR',
    'GLIBC_TUNABLES',
    // Node.js: options and preloads, module lookup, trust.
    'NODE_OPTIONS',
    'NODE_PATH',
    'NODE_EXTRA_CA_CERTS',
    'NODE_REPL_EXTERNAL_MODULE',
    'NODE_TLS_REJECT_UNAUTHORIZED',
    // Python: module lookup, start-up code, imports named by a value.
    'PYTHONPATH',
    'PYTHONSTARTUP',
    'PYTHONHOME',
    'PYTHONWARNINGS',
    'PYTHONBREAKPOINT',
    // Perl and Ruby: options and library paths; PERL5DB is Perl code.
    'PERL5OPT',
    'PERL5LIB',
    'PERLLIB',
    'PERL5DB',
    'RUBYOPT',
    'RUBYLIB',
    // The JVM and .NET: agents, class paths, start-up hooks.
    'JAVA_TOOL_OPTIONS',
    '_JAVA_OPTIONS',
    'JDK_JAVA_OPTIONS',
    'CLASSPATH',
    'DOTNET_STARTUP_HOOKS',
    // Git and SSH: commands they run, configuration given in the environment.
    'GIT_SSH_COMMAND',
    'GIT_SSH',
    'GIT_ASKPASS',
    'SSH_ASKPASS',
    'GIT_EDITOR',
    'GIT_PAGER',
    'GIT_EXTERNAL_DIFF',
    'GIT_PROXY_COMMAND',
    'GIT_EXEC_PATH',
    'GIT_CONFIG_COUNT',
    'GIT_CONFIG_PARAMETERS',
    // Commands other tools run on the program's behalf.
    'EDITOR',
    'VISUAL',
    'PAGER',
    'LESSOPEN',
    'LESSCLOSE',
    'BROWSER',
    // TLS trust and the libraries behind it (OPENSSL_CONF loads engines and providers).
    'SSL_CERT_FILE',
    'SSL_CERT_DIR',
    'REQUESTS_CA_BUNDLE',
    'CURL_CA_BUNDLE',
    'OPENSSL_CONF',
  ]),
  // The dynamic loaders (Linux, macOS), glibc's charset modules, npm's configuration.
  prefixes: Object.freeze(['LD_', 'DYLD_', 'GCONV_', 'NPM_CONFIG_']),
});

const DENIED_NAMES = new Set(ENV_DENYLIST.names);

/** Whether `name` is on {@link ENV_DENYLIST} (a listed name, or one of its prefixes), in any case. */
export function isDeniedEnvName(name: string): boolean {
  const upper = name.toUpperCase();
  return DENIED_NAMES.has(upper) || ENV_DENYLIST.prefixes.some((prefix) => upper.startsWith(prefix));
}
