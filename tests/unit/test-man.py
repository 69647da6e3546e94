#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The man pages, as `ninja install` puts them (TAP).

Installs into a scratch DESTDIR, then checks that
  - the installed libktls.so exports exactly the names of lib/libktls.sym's
    global sections (LIBKTLS_0.1, LIBKTLS_0.2, ...);
  - every one of those names, and every call the headers declare (static
    inline ones included), has a page in man3, found by `man 3 NAME` through
    MANPATH, with NAME, SYNOPSIS (the header's prototype and its #include),
    DESCRIPTION and SEE ALSO.  The compat symbols of lib/compat-0.1.c are
    exported only as a non-default version (NAME@LIBKTLS_0.1, for programs
    linked against 0.1), so no new program can link to them and they need no
    page as symbols; each has the same name as a static inline call of
    ktls.h, though, so that call's page is what `man 3 NAME` finds, and the
    test requires it;
  - every function returning int or ssize_t has a RETURN VALUE section;
  - every page renders with man(1) (or groff) without a warning;
  - libktls(3) lists every function, and ktls(1) describes every subcommand,
    `ktls help` and `--version`, every long option that `ktls CMD --help`
    prints and every name in the option table of tools/ktls-CMD.c.

usage: test-man.py MESON BUILDDIR SRCDIR NM KTLS
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

n = 0
failed = 0


def check(ok, what, diag=None):
    global n, failed
    n += 1
    if not ok:
        failed += 1
    print('%s %d - %s' % ('ok' if ok else 'not ok', n, what), flush=True)
    if not ok and diag:
        for d in str(diag).rstrip().split('\n')[:20]:
            print('#   ' + d)


def skip(what, why):
    global n
    n += 1
    print('ok %d - %s # SKIP %s' % (n, what, why), flush=True)


def sections(src):
    """Section name -> roff text of the section."""
    out, cur = {}, None
    for line in src.split('\n'):
        m = re.match(r'^\.SH\s+"?([^"]*)"?\s*$', line)
        if m:
            cur = m.group(1).strip()
            out[cur] = ''
        elif cur:
            out[cur] += line + '\n'
    return out


def render(path, env):
    """(ok, what went wrong) for one page."""
    if shutil.which('man'):
        cmd = ['man', '--warnings', '-E', 'UTF-8', '-l', path]
    else:
        cmd = ['groff', '-man', '-ww', '-z', '-Tutf8', path]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0 or p.stderr.strip():
        return False, p.stderr or 'exit status %d' % p.returncode
    if 'man' in cmd[0] and not p.stdout.strip():
        return False, 'no output'
    return True, p.stdout


def main():
    meson, builddir, srcdir, nm, ktls = sys.argv[1:6]
    tmp = tempfile.mkdtemp(prefix='ktls-man-')
    try:
        run(meson, builddir, srcdir, nm, ktls, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print('1..%d' % n)
    return 1 if failed else 0


def run(meson, builddir, srcdir, nm, ktls, tmp):
    dest = os.path.join(tmp, 'dest')
    p = subprocess.run([meson, 'install', '-C', builddir, '--destdir', dest, '--no-rebuild',
                        '--quiet'], capture_output=True, text=True)
    check(p.returncode == 0, 'meson install --destdir', diag=p.stdout + p.stderr)
    mandirs = glob.glob(os.path.join(dest, '**', 'share', 'man'), recursive=True)
    libs = glob.glob(os.path.join(dest, '**', 'libktls.so.*.*.*'), recursive=True)
    if not mandirs or not libs:
        print('Bail out! no share/man or libktls.so under ' + dest)
        sys.exit(1)
    mandir = mandirs[0]

    out = subprocess.run([nm, '-D', '--defined-only', libs[0]], capture_output=True,
                         text=True).stdout
    # NAME@@VERSION is a name a program links to today; NAME@VERSION only, an
    # old version kept for programs linked before (lib/compat-0.1.c).
    syms = [f[2] for f in (ln.split() for ln in out.split('\n')) if len(f) == 3 and f[1] == 'T']
    default = {re.sub(r'@.*', '', f) for f in syms if '@' not in f or '@@' in f}
    compat = sorted({re.sub(r'@.*', '', f) for f in syms if '@' in f and '@@' not in f} - default)
    exported = sorted(default)
    check(len(exported) > 50, '%d functions exported by the installed library, and %d compat '
          'symbols of an older version only (%s)' % (len(exported), len(compat), ' '.join(compat)))

    # The version script's global names, section by section.
    script = open(os.path.join(srcdir, 'lib', 'libktls.sym'), encoding='utf-8').read()
    script = re.sub(r'/\*.*?\*/', '', script, flags=re.S)
    listed, versions = set(), []
    for m in re.finditer(r'(LIBKTLS_[\d.]+)\s*\{(.*?)\}', script, re.S):
        versions.append(m.group(1))
        body = m.group(2).split('local:')[0]
        listed |= set(re.findall(r'\b(ktls_\w+)\s*;', body))
    check(listed and listed == set(exported) | set(compat),
          'the installed library exports the global names of lib/libktls.sym (%s), no more'
          % ', '.join(versions),
          diag='not exported: %s\nnot in the script: %s'
          % (' '.join(sorted(listed - set(exported) - set(compat))),
             ' '.join(sorted(set(exported) - listed))))

    # Return types and prototypes, read from the headers here (not by the
    # generator); a static inline call's page shows it as a prototype.
    protos, rettype, header_of, inline = {}, {}, {}, set()
    for h in ('ktls.h', 'ktls-gnutls.h', 'ktls-agent.h'):
        text = open(os.path.join(srcdir, 'include', h), encoding='utf-8').read()
        for m in re.finditer(r'^(static inline )?([a-z][\w ]*?[ *])(ktls_\w+)\(([^;{]*?)\)\s*(;|\n\{)',
                             text, re.M):
            name = m.group(3)
            protos[name] = re.sub(r'\s+', ' ', '%s%s(%s);' % (m.group(2), name, m.group(4)))
            rettype[name] = m.group(2).strip()
            header_of[name] = h
            if m.group(1):
                inline.add(name)
    check(len(protos) > 50, '%d calls declared in the headers, %d of them static inline'
          % (len(protos), len(inline)))

    env = dict(os.environ, LC_ALL='C.UTF-8', MANWIDTH='300', MANPATH=mandir, MANOPT='')
    have_man = shutil.which('man') is not None
    have_groff = shutil.which('groff') is not None

    undeclared = [f for f in exported if f not in protos]
    check(not undeclared, 'every exported function is declared in the headers',
          diag=' '.join(undeclared))
    # A compat symbol needs no page of its own (see above), but its name is
    # the header's static inline call of the same name, so it gets that one.
    check(set(compat) <= inline, 'every compat symbol (%d) is also a static inline call of '
          'the headers, with its page' % len(compat),
          diag=' '.join(sorted(set(compat) - inline)))
    for name in sorted(set(exported) | set(protos)):
        page = os.path.join(mandir, 'man3', name + '.3')
        if not os.path.exists(page):
            check(False, '%s: no page %s' % (name, os.path.relpath(page, dest)))
            continue
        src = open(page, encoding='utf-8').read()
        sec = sections(src)
        want = ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'SEE ALSO']
        missing = [s for s in want if s not in sec]
        check(not missing and re.match(r'^%s \\- \S' % name, sec['NAME']) is not None and
              '#include <%s>' % header_of.get(name, '?') in sec['SYNOPSIS'] and
              'pkg\\-config' in sec['SYNOPSIS'] and
              'no kernel-doc comment' not in sec.get('DESCRIPTION', ''),
              '%s(3): NAME, SYNOPSIS with #include <%s> and pkg-config, DESCRIPTION from '
              'kernel-doc, SEE ALSO' % (name, header_of.get(name, '?')),
              diag='missing: %s\n%s' % (missing, src[:800]))
        if rettype.get(name) in ('int', 'ssize_t'):
            has = 'RETURN VALUE' in sec and sec['RETURN VALUE'].strip() != ''
            check(has, '%s(3): RETURN VALUE (returns %s)' % (name, rettype[name]))
        if have_man:
            # The prototype as the header writes it, in the rendered SYNOPSIS.
            ok, text = render(page, env)
            syn = re.sub(r'\s+', ' ', text.split('SYNOPSIS', 1)[-1].split('DESCRIPTION', 1)[0])
            check(ok and protos.get(name, '?') in syn,
                  '%s(3) renders without warnings; its SYNOPSIS is the header\'s prototype'
                  % name, diag=text if not ok else 'want: %s\ngot: %s' % (protos.get(name), syn))
        elif have_groff:
            ok, text = render(page, env)
            check(ok, '%s(3) renders without groff warnings' % name, diag=text)
        else:
            skip('%s(3) renders' % name, 'neither man nor groff is installed (man-db, groff-base)')

    stray = sorted(set(os.path.basename(p)[:-2] for p in glob.glob(os.path.join(mandir, 'man3',
                                                                                 '*.3')))
                   - set(exported) - set(protos) - {'libktls'})
    check(not stray, 'no page for a function neither exported nor in the headers',
          diag=' '.join(stray))

    if have_man:
        p = subprocess.run(['man', '-w', '3', 'ktls_conn_handshake'], env=env, capture_output=True,
                           text=True)
        check(p.stdout.strip() == os.path.join(mandir, 'man3', 'ktls_conn_handshake.3'),
              'man 3 ktls_conn_handshake finds the installed page', diag=p.stdout + p.stderr)
        p = subprocess.run(['man', '3', 'ktls_conn_handshake'], env=dict(env, MANWIDTH='80'),
                           capture_output=True, text=True)
        check(p.returncode == 0 and re.search(r'ktls_conn_handshake\s+[-\u2212]\s+run', p.stdout)
              and 'RETURN VALUE' in p.stdout and re.search('[-\u2212]ECONNABORTED', p.stdout),
              'man 3 ktls_conn_handshake shows it', diag=p.stdout[:1500] + p.stderr)
    else:
        skip('man 3 ktls_conn_handshake', 'man is not installed (man-db)')

    # libktls(3): the overview lists every function and renders cleanly.
    page = os.path.join(mandir, 'man3', 'libktls.3')
    src = open(page, encoding='utf-8').read() if os.path.exists(page) else ''
    unlisted = [f for f in sorted(set(exported) | set(protos)) if not re.search(r'^\.BR \\%%%s \(3\)' % f, src, re.M)]
    check(src and not unlisted, 'libktls(3) lists every function', diag=' '.join(unlisted))
    check('@' not in re.sub(r'^\.\\".*$', '', src, flags=re.M).replace('\\fI', ''),
          'libktls(3): every template marker was filled in')
    if have_man or have_groff:
        ok, text = render(page, env)
        check(ok, 'libktls(3) renders without warnings', diag=text)

    # ktls(1): every subcommand and long option of the tool, as its --help
    # prints them and as its option tables (tools/ktls-CMD.c) hold them.
    page = os.path.join(mandir, 'man1', 'ktls.1')
    src = open(page, encoding='utf-8').read() if os.path.exists(page) else ''
    check(bool(src), 'ktls(1) is installed')
    plain = src.replace('\\-', '-').replace('\\~', ' ')
    top = subprocess.run([ktls, '--help'], capture_output=True, text=True).stdout
    cmds = re.findall(r'^  (\w+)\s', top, re.M)
    check(len(cmds) >= 7, 'ktls --help lists %d subcommands' % len(cmds), diag=top)
    tool_h = open(os.path.join(srcdir, 'tools', 'tool.h'), encoding='utf-8').read()
    common = re.search(r'#define TOOL_OPTIONS_COMMON(.*?)\n\n', tool_h, re.S)
    common = set(re.findall(r'\{ "([a-z][a-z0-9-]*)"', common.group(1))) if common else set()
    check({'help', 'version'} <= common, 'tools/tool.h: every subcommand takes %s'
          % ' '.join('--' + o for o in sorted(common)))
    absent = [w for w in ['ktls help', '--version'] if w not in plain]
    check(re.search(r'^\.B help$', src, re.M) is not None and not absent,
          'ktls(1) describes "ktls help [COMMAND]" and "ktls --version"', diag=' '.join(absent))
    for cmd in cmds:
        helptext = subprocess.run([ktls, cmd, '--help'], capture_output=True, text=True)
        opts = set(re.findall(r'(--[a-z][a-z0-9-]*)', helptext.stdout + helptext.stderr))
        c_file = os.path.join(srcdir, 'tools', 'ktls-%s.c' % cmd)
        table = re.search(r'static const struct option options\[\] = \{(.*?)\n\t\};',
                          open(c_file, encoding='utf-8').read() if os.path.exists(c_file) else '',
                          re.S)
        check(table is not None, 'tools/ktls-%s.c has an option table' % cmd)
        if table:
            opts |= {'--' + o for o in re.findall(r'\{ "([a-z][a-z0-9-]*)"', table.group(1))}
        opts = sorted(opts - {'--' + o for o in common})
        absent = [o for o in opts if not re.search(re.escape(o) + r'(?![a-z0-9-])', plain)]
        check(re.search(r'^\.SS %s$' % cmd, src, re.M) is not None and not absent,
              'ktls(1) describes "ktls %s" and its options %s' % (cmd, ' '.join(opts)),
              diag='not in ktls.1: ' + ' '.join(absent))
    if have_man or have_groff:
        ok, text = render(page, env)
        check(ok, 'ktls(1) renders without warnings', diag=text)


if __name__ == '__main__':
    sys.exit(main())
