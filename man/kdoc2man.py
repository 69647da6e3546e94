#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Man pages from the public headers' kernel-doc comments.

One page per exported function (the names come from the version script, so
a function cannot be exported without a page) and per static inline call the
header defines (ktls_conn_get_info(), documented by the *_sized function it
calls), plus libktls(3), the
overview, filled from a template with the header's conventions, its section
introductions and the list of functions.  Run at build time by
man/meson.build, so the pages follow the header as it changes.

    kdoc2man.py --sym lib/libktls.sym --version 0.1.0 --outdir DIR \\
                --overview man/libktls.3.in include/ktls.h include/ktls-gnutls.h
    kdoc2man.py --gaps --sym lib/libktls.sym include/*.h    (what lacks docs)

A comment documents the declaration right below it:

    /**
     * name() - summary, which may run over several lines.
     * @arg: what it is.
     * @a, @b: two at once.
     *
     * Body paragraphs; lines starting with "- " are a list.
     * Result: what an asynchronous operation's callback receives.
     * Return: what the call returns ("a; b; c" becomes a list).
     */

In the text, @arg is set in italics, name() and KTLS_* in bold.  The
structures, enums, callback types and constants a function uses are copied
from the header into its page, with their comments.
"""
import argparse
import os
import re
import sys

# ---------------------------------------------------------------------------
# Reading the header


class Decl:
    """Something the header declares, with the comment right above it."""

    def __init__(self, kind, name, text, comment, section):
        self.kind = kind        # 'function', 'struct', 'enum', 'typedef', 'macros'
        self.name = name
        self.text = text        # the declaration as written (lines)
        self.comment = comment  # the comment lines above it, as written, or None
        self.section = section
        self.kdoc = None        # for functions: the /** */ comment's content lines
        self.header = None
        self.names = []         # macros: every name the group defines; enums: members
        self.inline = False     # functions: a static inline wrapper in the header
        self.calls = None       # ... and the function it returns the result of


class Header:
    def __init__(self):
        self.functions = {}     # name -> Decl
        self.types = {}         # 'struct x' / 'enum x' / typedef name -> Decl
        self.macros = {}        # KTLS_NAME -> Decl (a group of #defines)
        self.enum_members = {}  # KTLS_NAME -> Decl of its enum
        self.sections = []      # [title, intro comment lines or None, [function names]]
        self.conventions = None  # the first comment of the first header


def comment_lines(raw):
    """The text of a /* */ or /** */ comment, one entry per line, without the
    comment markers and the leading " * ", keeping further indentation."""
    out = []
    for i, line in enumerate(raw):
        s = line.rstrip()
        if i == 0:
            s = re.sub(r'^\s*/\*\*?', '', s)
        if s.endswith('*/'):
            s = s[:-2].rstrip()
        m = re.match(r'^\s*\*(?!/)( ?)(.*)$', s) if i > 0 else None
        if m:
            s = m.group(2)
        out.append(s.replace('\t', '    '))
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return out


BANNER_RULE = re.compile(r'^/\* -{20,} \*/$')
BANNER_TITLE = re.compile(r'^/\* (\S.*?)\s*\*/$')
SUBBANNER = re.compile(r'^/\* -{2,} (\S.*?) -{3,} \*/$')


def read_header(path, hdr):
    name = os.path.basename(path)
    lines = open(path, encoding='utf-8').read().split('\n')
    i = 0
    pending = None       # (raw comment lines, is_kdoc), attached to what follows
    section = None

    def new_section(title):
        nonlocal section
        section = [title, None, []]
        hdr.sections.append(section)

    def read_until(start, pred):
        j = start
        while j < len(lines) and not pred(lines[j]):
            j += 1
        return j

    def add_function(fname, text, comment, kdoc, section):
        # A call's page: its kernel-doc, or the plain comment above it.
        d = Decl('function', fname, text, None if kdoc else comment, section)
        d.kdoc = comment_lines(comment) if kdoc else None
        d.header = name
        hdr.functions[d.name] = d
        if section is not None:
            section[2].append(d.name)
        return d

    while i < len(lines):
        line = lines[i]
        s = line.strip()
        if BANNER_RULE.match(s) and i + 1 < len(lines) and BANNER_TITLE.match(lines[i + 1].strip()):
            new_section(BANNER_TITLE.match(lines[i + 1].strip()).group(1))
            pending = None
            i += 2
            continue
        m = SUBBANNER.match(s)
        if m:
            new_section(m.group(1))
            pending = None
            i += 1
            continue
        if s.startswith('/*'):
            j = read_until(i, lambda ln: '*/' in ln)
            raw = lines[i:j + 1]
            is_kdoc = s.startswith('/**')
            if hdr.conventions is None and any(ln.lstrip(' */').startswith('Conventions')
                                               for ln in raw):
                hdr.conventions = comment_lines(raw)
            if pending and not pending[1] and not is_kdoc:
                pending = (pending[0] + raw, False)   # adjacent comments go together
            else:
                pending = (raw, is_kdoc)
            i = j + 1
            continue
        if not s:
            # A comment followed by a blank line introduces its section.
            if pending and not pending[1] and section is not None and section[1] is None \
                    and not section[2]:
                section[1] = comment_lines(pending[0])
            pending = None
            i += 1
            continue
        comment = pending[0] if pending else None
        kdoc = pending[1] if pending else False
        pending = None
        if s.startswith('#define KTLS_'):
            j = i
            while j + 1 < len(lines) and lines[j + 1].startswith('#define KTLS_'):
                j += 1
            d = Decl('macros', s.split()[1], lines[i:j + 1], comment, section)
            for ln in lines[i:j + 1]:
                n = ln.split()[1]
                d.names.append(n)
                hdr.macros[n] = d
            i = j + 1
            continue
        m = re.match(r'^(struct|enum) (\w+) \{', s)
        if m:
            j = read_until(i, lambda ln: ln.startswith('};'))
            key = m.group(1) + ' ' + m.group(2)
            d = Decl(m.group(1), key, lines[i:j + 1], comment, section)
            if m.group(1) == 'enum':
                for ln in lines[i + 1:j]:
                    mm = re.match(r'^\s*(KTLS_\w+)', ln)
                    if mm:
                        d.names.append(mm.group(1))
                        hdr.enum_members[mm.group(1)] = d
            hdr.types[key] = d
            i = j + 1
            continue
        m = re.match(r'^struct (\w+);$', s)
        if m:
            # A forward declaration takes the section's introduction with it.
            if comment and section is not None and section[1] is None and not section[2]:
                section[1] = comment_lines(comment)
            i += 1
            continue
        if s.startswith('typedef'):
            j = read_until(i, lambda ln: ln.rstrip().endswith(';'))
            text = lines[i:j + 1]
            joined = ' '.join(t.strip() for t in text)
            mm = re.search(r'\(\*\s*(\w+)\)', joined) or re.search(r'(\w+)\s*;$', joined)
            d = Decl('typedef', mm.group(1), text, comment, section)
            hdr.types[d.name] = d
            i = j + 1
            continue
        m = re.match(r'^[a-z].*?\b(ktls_\w+)\(', s)
        if m and s.startswith('static inline '):
            # A wrapper defined in the header: its page shows the call as a
            # prototype, and what it calls documents the rest.
            j = read_until(i, lambda ln: ln.rstrip().endswith(')'))
            text = lines[i:j + 1]
            text[0] = text[0].replace('static inline ', '', 1)
            text[-1] = text[-1].rstrip() + ';'
            end = read_until(j + 1, lambda ln: ln.startswith('}'))
            body = ' '.join(lines[j + 1:end + 1])
            d = add_function(m.group(1), text, comment, kdoc, section)
            d.inline = True
            mm = re.search(r'\breturn\s+(ktls_\w+)\(', body)
            d.calls = mm.group(1) if mm else None
            i = end + 1
            continue
        if m:
            j = read_until(i, lambda ln: ln.rstrip().endswith(';'))
            add_function(m.group(1), lines[i:j + 1], comment, kdoc, section)
            i = j + 1
            continue
        i += 1
    # Types and constants are shown "as declared in" their header.
    for d in list(hdr.types.values()) + list(hdr.macros.values()):
        if getattr(d, 'header', None) is None:
            d.header = name
    return hdr


def read_symbols(path):
    """The global names of a linker version script."""
    names = []
    mode = None
    for line in open(path, encoding='utf-8'):
        line = re.sub(r'/\*.*?\*/', '', line).split('#')[0].strip()
        if line in ('global:', 'local:'):
            mode = line
            continue
        if mode == 'global:' and re.match(r'^\w+;$', line):
            names.append(line[:-1])
        if line.startswith('}'):
            mode = None
    return names


# ---------------------------------------------------------------------------
# The kernel-doc comment


class Doc:
    def __init__(self):
        self.summary = ''
        self.params = []     # (names, text)
        self.body = []       # paragraphs: ('p', text) or ('li', text)
        self.ret = None
        self.result = None
        self.notes = []      # wrappers: what each one in the chain adds


def function_doc(hdr, decl, depth=0):
    """The documentation of a function's page.  A static inline wrapper
    (ktls_conn_get_info() calling ktls_conn_get_info_sized()) is documented
    by what it calls: that function's summary, body and return value, the
    arguments the wrapper has, and the wrapper's own comment as a note."""
    own = parse_kdoc(decl.kdoc, decl.name) if decl.kdoc else Doc()
    callee = hdr.functions.get(decl.calls) if decl.inline else None
    if callee is None or callee.kdoc is None or depth > 4:
        return own
    inner = function_doc(hdr, callee, depth + 1)
    mine = {a for _, a in prototype(decl)[2] if a}
    doc = Doc()
    doc.summary = inner.summary
    own_names = {n for names, _ in own.params for n in names}
    for names, text in inner.params:
        if set(names) <= mine and not set(names) & own_names:
            doc.params.append((names, text))
    doc.params += own.params
    doc.body = inner.body + own.body
    doc.ret = own.ret or inner.ret
    doc.result = own.result or inner.result
    doc.notes = ['%s(): %s  It is a static inline function in <%s>.'
                 % (decl.name, capitalise_call(own.summary), decl.header)] + inner.notes
    return doc


def capitalise_call(text):
    """A summary that starts with a call stays as written."""
    return text if re.match(r'^\w+\(\)', text) else text[:1].upper() + text[1:]


LABEL = re.compile(r'^(Return|Result):\s*(.*)$')
PARAM = re.compile(r'^(@\w+(?:,\s*@\w+)*):\s*(.*)$')


def parse_kdoc(lines, fname):
    doc = Doc()
    if not lines:
        return doc
    m = re.match(r'^\s*' + re.escape(fname) + r'\(\)\s*-\s*(.*)$', lines[0])
    if not m:
        raise SystemExit('kdoc2man: the comment above %s() does not start with "%s() - "'
                         % (fname, fname))
    cur = ['summary', [m.group(1)]]
    blocks = []

    def close():
        if cur[1] and any(t.strip() for t in cur[1]):
            blocks.append((cur[0], cur[1]))

    for line in lines[1:]:
        s = line.strip()
        pm = PARAM.match(s)
        lm = LABEL.match(s)
        if not s:
            close()
            cur = ['p', []]
        elif pm and cur[0] != 'Return':
            close()
            cur = ['param:' + pm.group(1), [pm.group(2)]]
        elif lm:
            close()
            cur = [lm.group(1), [lm.group(2)]]
        elif s.startswith('- ') and cur[0] in ('p', 'summary', 'li'):
            close()
            cur = ['li', [s[2:]]]
        else:
            cur[1].append(line)
    close()

    for kind, text in blocks:
        joined = join_lines(text)
        # "...  Return: 0, -EINVAL." inside a paragraph.
        if kind in ('summary', 'p', 'li') or kind.startswith('param:'):
            mm = re.search(r'(?:^|\s)(Return|Result):\s+(.*)$', joined)
            if mm:
                joined = joined[:mm.start()].strip()
                setattr(doc, 'ret' if mm.group(1) == 'Return' else 'result', mm.group(2))
        if kind == 'summary':
            doc.summary = joined
        elif kind.startswith('param:'):
            names = [n.strip().lstrip('@') for n in kind[6:].split(',')]
            doc.params.append((names, joined))
        elif kind == 'Return':
            doc.ret = joined
        elif kind == 'Result':
            doc.result = joined
        elif joined:
            doc.body.append((kind, joined))
    return doc


def join_lines(lines):
    """Join wrapped lines; a line that ends a sentence keeps the sentence
    break (two spaces) that the header writes within lines."""
    out = ''
    for t in (t.strip() for t in lines):
        if not t:
            continue
        if out:
            out += '  ' if re.search(r'[.!?]$', out) and t[:1].isupper() else ' '
        out += t
    return out


def short_summary(summary):
    """The summary up to its first ';' or sentence end, outside parentheses:
    the line for NAME."""
    depth = 0
    for i, c in enumerate(summary):
        if c == '(':
            depth += 1
        elif c == ')':
            depth = max(0, depth - 1)
        elif depth == 0 and c == ';':
            return summary[:i]
        elif depth == 0 and c == '.' and (i + 1 == len(summary) or summary[i + 1:i + 3] == '  '):
            return summary[:i]
    return summary.rstrip('.')


def split_top(text, sep):
    """Split at @sep outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c == '(':
            depth += 1
        elif c == ')':
            depth = max(0, depth - 1)
        elif c == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


# ---------------------------------------------------------------------------
# roff


def esc(text):
    """Escape text for roff: backslashes, and minus signs as \\- so that
    -EINVAL and --libs copy as ASCII hyphen-minus."""
    text = text.replace('\\', '\\e')
    text = re.sub(r'(^|[\s(\[/"\'=,])-(?=[-\w])', lambda m: m.group(1) + '\\-', text)
    text = re.sub(r'(?<=\\-)-', '\\-', text)
    return text


def inline(text, known):
    """Prose: escape, then @arg italic, name() and KTLS_NAME bold."""
    text = esc(text)
    # \% keeps an identifier from being hyphenated.
    text = re.sub(r'@(\w+)', r'\\fI\\%\1\\fP', text)
    text = re.sub(r'\b(\w+)\((\d?)\)',
                  lambda m: ('\\fB\\%%%s\\fP(%s)' % (m.group(1), m.group(2)))
                  if (m.group(1) in known or m.group(2) or '_' in m.group(1)) else m.group(0), text)
    text = re.sub(r'\b(KTLS_[A-Z0-9_]+\*?)', r'\\fB\\%\1\\fP', text)
    # \\% suppresses hyphenation only at the start of a word (inside one it
    # marks a break point), so move it in front of the word: "(\\fB\\%x" ->
    # "\\%(\\fBx".
    # The same for any word with an underscore, an errno, a path.
    text = re.sub(r'(\S+)', lambda m: ('\\%' + m.group(1).replace('\\%', ''))
                  if re.search(r'\\%|_|\\-E[A-Z]|/', m.group(1)) else m.group(1), text)
    # One sentence per line, as roff expects (it then spaces sentences itself).
    text = re.sub(r'([.!?])  +(?=\S)', r'\1\n', text)
    text = re.sub(r'  +', ' ', text)
    return '\n'.join(line_safe(t) for t in text.split('\n'))


def line_safe(text):
    """A roff text line must not start with a control character."""
    if text[:1] in ('.', "'"):
        return '\\&' + text
    return text


def code(lines):
    """Lines of C, for a no-fill block."""
    out = []
    for ln in lines:
        ln = ln.rstrip().replace('\t', '    ')
        ln = ln.replace('\\', '\\e').replace('-', '\\-')
        out.append(line_safe(ln) if ln else '')
    return out


def capitalise(text):
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def prototype(decl):
    """(return type, name, [(arg type, arg name)]) from the declaration."""
    joined = re.sub(r'\s+', ' ', ' '.join(t.strip() for t in decl.text))
    m = re.match(r'^(.*?)\b(ktls_\w+)\((.*)\);$', joined)
    if not m:
        raise SystemExit('kdoc2man: cannot read the declaration of ' + decl.name)
    args = []
    for a in split_top(m.group(3), ','):
        am = re.match(r'^(.*?)(\w+)$', a)
        if a == 'void' or not am or not am.group(1).strip():
            args.append((a, ''))
        else:
            args.append((am.group(1), am.group(2)))
    return m.group(1).strip(), m.group(2), args


def synopsis_lines(decl, width=70):
    ret, name, args = prototype(decl)
    head = ret + ('' if ret.endswith('*') else ' ') + name + '('
    indent = len(head) if len(head) <= 32 else 8
    pieces = []
    for n, (atype, aname) in enumerate(args):
        last = n == len(args) - 1
        plain = atype + aname + (');' if last else ',')
        rof = '\\fB' + esc(atype) + '\\fP' + ('\\fI' + aname + '\\fP' if aname else '') + \
            '\\fB' + (');' if last else ',') + '\\fP'
        pieces.append((plain, rof))
    if not pieces:
        pieces.append(('void);', '\\fBvoid);\\fP'))
    lines, cur_plain, cur_roff = [], head, '\\fB' + esc(head) + '\\fP'
    for k, (plain, rof) in enumerate(pieces):
        sep = '' if k == 0 else ' '
        if k > 0 and len(cur_plain) + 1 + len(plain) > width:
            lines.append(cur_roff)
            cur_plain, cur_roff = ' ' * indent + plain, ' ' * indent + rof
        else:
            cur_plain += sep + plain
            cur_roff += sep + rof
    lines.append(cur_roff)
    return lines


def referenced_types(hdr, decl, doc):
    """The types and constants a page shows: those in the prototype and
    those named in its comment, and the types those use in turn."""
    out, seen = [], set()
    proto = ' '.join(decl.text)
    prose = ' '.join([doc.summary, doc.ret or '', doc.result or ''] +
                     [t for _, t in doc.params] + [t for _, t in doc.body])

    def add(d):
        if d is not None and id(d) not in seen:
            seen.add(id(d))
            out.append(d)
            body = ' '.join(d.text) + ' ' + ' '.join(d.comment or [])
            for m in re.finditer(r'\b(struct|enum) (\w+)', body):
                add(hdr.types.get(m.group(1) + ' ' + m.group(2)))

    for m in re.finditer(r'\b(struct|enum) (\w+)', proto):
        add(hdr.types.get(m.group(1) + ' ' + m.group(2)))
    for tname, d in hdr.types.items():
        if d.kind == 'typedef' and re.search(r'\b' + tname + r'\b', proto):
            add(d)
    for m in re.finditer(r'\b(KTLS_[A-Z0-9_]+)(\*?)', prose):
        if m.group(2):
            for n, d in hdr.macros.items():
                if n.startswith(m.group(1)):
                    add(d)
        add(hdr.macros.get(m.group(1)))
        add(hdr.enum_members.get(m.group(1)))
    return out


def th(name, section, version):
    return '.TH %s %s "" "libktls %s" "libktls Manual"' % (name.upper(), section, version)


def page(hdr, decl, version, known):
    doc = function_doc(hdr, decl)
    ret, _, _ = prototype(decl)
    out = ['.\\" Generated by man/kdoc2man.py from %s; edit the header, not this file.'
           % decl.header, th(decl.name, 3, version), '.SH NAME']
    name_line = short_summary(doc.summary) if doc.summary else 'libktls function'
    out.append('%s \\- %s' % (decl.name, esc(name_line.replace('@', ''))))
    out += ['.SH SYNOPSIS', '.nf', '.B #include <%s>' % decl.header, '.PP']
    out += synopsis_lines(decl)
    out += ['.fi', '.PP',
            'Compile and link with the flags that',
            '.B pkg\\-config \\-\\-cflags \\-\\-libs libktls',
            'prints.']
    out.append('.SH DESCRIPTION')
    if not decl.kdoc:
        out.append('The header has no kernel-doc comment for this function yet.')
    else:
        out.append(inline(capitalise(doc.summary), known))
        if doc.params:
            for names, text in doc.params:
                out.append('.TP')
                out.append(', '.join('\\fI%s\\fP' % n for n in names))
                out.append(inline(text, known))
        prev = None
        for kind, text in doc.body:
            if kind == 'li':
                out += ['.IP \\(bu 2', inline(text, known)]
            else:
                out += ['.PP', inline(text, known)]
            prev = kind
    types = referenced_types(hdr, decl, doc)
    if types:
        where = sorted(set(getattr(d, 'header', None) or 'ktls.h' for d in types),
                       key=lambda h: (h != 'ktls.h', h))
        out += ['.SS Types and constants', 'As declared in'] + \
               ['.IR <%s> %s' % (h, ':' if k == len(where) - 1 else 'and')
                for k, h in enumerate(where)] + ['.PP',
                '.in +4n', '.nf']
        for k, d in enumerate(types):
            if k:
                out.append('')
            out += code((d.comment or []) + d.text)
        out += ['.fi', '.in']
    if doc.ret or doc.result or ret == 'void':
        out.append('.SH RETURN VALUE')
        if ret == 'void' and not doc.ret:
            out.append('None.')
        if doc.ret:
            items = split_top(doc.ret, ';')
            if len(items) >= 3:
                for it in items:
                    out += ['.IP \\(bu 2', inline(it.rstrip('.'), known)]
            else:
                out.append(inline(capitalise(doc.ret), known))
        if doc.result:
            out += ['.PP', 'The callback\'s \\fIresult\\fP, when the operation ends: ' +
                    inline(doc.result, known)]
    if doc.notes:
        out.append('.SH NOTES')
        for k, note in enumerate(doc.notes):
            if k:
                out.append('.PP')
            out.append(inline(note, known))
    see = []
    text = ' '.join((decl.kdoc or []) + doc.notes) + ' ' + ' '.join(
        ' '.join((d.comment or []) + d.text) for d in types)
    # A constructor and its destructor point at each other.
    stem = re.sub(r'_(new|free|unref|ref)$', '', decl.name)
    if stem != decl.name:
        for suffix in ('_new', '_free', '_ref', '_unref'):
            text += ' %s%s()' % (stem, suffix)
    for m in re.finditer(r'\b(ktls_\w+)\(\)', text):
        if m.group(1) in known and m.group(1) != decl.name and m.group(1) not in see:
            see.append(m.group(1))
    # ktls_ring_accept and ktls_ring_accept_stop, ktls_nic_list and _free...
    for other in sorted(known):
        if other != decl.name and other not in see and \
                (other.startswith(decl.name + '_') or decl.name.startswith(other + '_')):
            see.append(other)
    refs = ['.BR \\%%%s (3)' % n for n in sorted(see)]
    for m in re.finditer(r'\b((?:gnutls|io_uring|poll|epoll|send|recv|sendfile|splice)\w*)\((\d)\)',
                         text):
        r = '.BR %s (%s)' % (m.group(1), m.group(2))
        if r not in refs:
            refs.append(r)
    refs = ['.BR libktls (3)'] + refs
    out += ['.SH SEE ALSO', '.ad l']
    out += [r + ',' for r in refs[:-1]] + [refs[-1]]
    return '\n'.join(out) + '\n'


def prose_blocks(lines, known):
    """A plain comment (the header's conventions, a section introduction)
    as paragraphs and lists."""
    out, para, mode = [], [], 'p'

    def flush():
        if para:
            text = join_lines(para)
            if mode == 'li':
                out.extend(['.IP \\(bu 2', inline(text, known)])
            else:
                out.extend(['.PP', inline(text, known)])
        para.clear()

    for ln in lines:
        s = ln.strip()
        if not s:
            flush()
            mode = 'p'
        elif s.startswith('- '):
            flush()
            mode = 'li'
            para.append(s[2:])
        elif mode == 'li' and not ln.startswith(' '):
            flush()
            mode = 'p'
            para.append(s)
        else:
            para.append(s)
    flush()
    return out


def overview(hdr, template, version, known, docdir):
    conv = list(hdr.conventions or [])
    # The first lines name the library; "Conventions..." starts what we want.
    for k, ln in enumerate(conv):
        if ln.startswith('Conventions'):
            conv = conv[k + 1:]
            break
    sections = []
    for title, intro, funcs in hdr.sections:
        if not funcs:
            continue
        sections += ['.SS %s' % esc(title)]
        if intro:
            sections += prose_blocks(intro, known)
            sections.append('.PP')
        for f in funcs:
            doc = function_doc(hdr, hdr.functions[f])
            sections += ['.TP', '.BR \\%%%s (3)' % f,
                         inline(short_summary(doc.summary) if doc.summary else '', known) or
                         'undocumented']
    text = open(template, encoding='utf-8').read()
    text = text.replace('@TH@', th('libktls', 3, version))
    text = text.replace('@CONVENTIONS@', '\n'.join(prose_blocks(conv, known)))
    text = text.replace('@FUNCTIONS@', '\n'.join(sections))
    text = text.replace('@DOCDIR@', docdir)
    return text


# ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sym', required=True, help='linker version script: which names get a page')
    ap.add_argument('--version', default='')
    ap.add_argument('--outdir')
    ap.add_argument('--overview', help='template of libktls.3')
    ap.add_argument('--docdir', default='/usr/share/doc/libktls',
                    help='where the examples are installed (named in libktls.3)')
    ap.add_argument('--gaps', action='store_true',
                    help='list exported functions without a kernel-doc comment or Return: line')
    ap.add_argument('headers', nargs='+')
    a = ap.parse_args()

    hdr = Header()
    for h in a.headers:
        read_header(h, hdr)
    symbols = read_symbols(a.sym)
    missing = [s for s in symbols if s not in hdr.functions]
    if missing:
        raise SystemExit('kdoc2man: exported but not declared in the headers: ' + ' '.join(missing))
    known = set(hdr.functions)
    # Calls the header defines static inline are public too, though not exported.
    symbols += [f for f, d in hdr.functions.items() if d.inline and f not in symbols]

    if a.gaps:
        status = 0
        for s in symbols:
            d = hdr.functions[s]
            ret, _, _ = prototype(d)
            if not d.kdoc:
                print('%s: no kernel-doc comment' % s)
                status = 1
            elif ret in ('int', 'ssize_t') and not function_doc(hdr, d).ret:
                print('%s: returns %s, no Return: line' % (s, ret))
                status = 1
        return status

    if not a.outdir:
        ap.error('--outdir is needed')
    os.makedirs(a.outdir, exist_ok=True)
    for s in symbols:
        with open(os.path.join(a.outdir, s + '.3'), 'w', encoding='utf-8') as f:
            f.write(page(hdr, hdr.functions[s], a.version, known))
    if a.overview:
        with open(os.path.join(a.outdir, 'libktls.3'), 'w', encoding='utf-8') as f:
            f.write(overview(hdr, a.overview, a.version, known, a.docdir))
    return 0


if __name__ == '__main__':
    sys.exit(main())
