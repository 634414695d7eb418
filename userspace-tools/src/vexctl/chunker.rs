//! Splitting a text into chunks for `vexctl index`: byte ranges of the text
//! (exact, on UTF-8 boundaries) of at most `max_tokens` tokens each, cut at
//! paragraph boundaries where possible, else at sentence, line, word and
//! finally character boundaries, with about `overlap_tokens` of the previous
//! chunk repeated at the start of the next. Pure and deterministic: the same
//! text, parameters and token counter give the same ranges.
//!
//! Tokens are counted by a caller-supplied function (the model's tokenizer in
//! `vexctl index`, [`estimate_tokens`] where there is none). Pieces are split
//! after whitespace, so with a tokenizer that splits words at whitespace and
//! punctuation (BERT's) the tokens of a chunk are the sum of its pieces'.
//!
//! Ranges: every piece of the text keeps its trailing whitespace, so the
//! chunks' ranges together cover the whole text, the first starts at 0 and
//! the last ends at the text's end; a text of at most `max_tokens` tokens is
//! one chunk covering it, and a text without a token (empty or whitespace
//! only) has no chunk.

/// Chunk sizes, in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Most tokens in one chunk (not counting the model's special tokens).
    pub max_tokens: usize,
    /// About this many tokens of a chunk's end start the next chunk again.
    pub overlap_tokens: usize,
}

impl Default for Params {
    fn default() -> Params {
        Params { max_tokens: 200, overlap_tokens: 32 }
    }
}

/// One chunk: bytes `offset .. offset + length` of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    pub offset: usize,
    pub length: usize,
    pub tokens: usize,
}

/// How strong the boundary in front of a piece is: a chunk preferably ends
/// in front of the strongest boundary it can reach.
const PARAGRAPH: u8 = 4;
const SENTENCE: u8 = 3;
const LINE: u8 = 2;
const WORD: u8 = 1;
const CHAR: u8 = 0;

#[derive(Debug, Clone, Copy)]
struct Piece {
    start: usize,
    end: usize,
    tokens: usize,
    /// Boundary strength in front of this piece.
    before: u8,
}

/// A cheap stand-in for a WordPiece tokenizer's count: every run of
/// alphanumeric characters counts one token per started 6 bytes (long words
/// become several word pieces), every other non-space character one.
pub fn estimate_tokens(text: &str) -> usize {
    let mut n = 0;
    let mut run = 0usize;
    for c in text.chars() {
        if c.is_alphanumeric() {
            run += c.len_utf8();
            continue;
        }
        n += run.div_ceil(6);
        run = 0;
        if !c.is_whitespace() {
            n += 1;
        }
    }
    n + run.div_ceil(6)
}

/// Splits `text[start..end]` into consecutive spans that each end after a
/// boundary of the given kind (and the whitespace that follows it).
fn split_spans(text: &str, start: usize, end: usize, kind: u8) -> Vec<(usize, usize)> {
    let s = &text[start..end];
    let b = s.as_bytes();
    let mut cuts = Vec::new(); // offsets (relative) where a new span starts
    let skip_ws = |mut i: usize| {
        while i < b.len() {
            let c = s[i..].chars().next().unwrap_or(' ');
            if !c.is_whitespace() {
                break;
            }
            i += c.len_utf8();
        }
        i
    };
    match kind {
        PARAGRAPH => {
            // A paragraph ends at a blank (whitespace-only) line; the blank
            // lines belong to the paragraph before them.
            let mut line_start = 0;
            let mut seen_text = false;
            let mut in_blank = false;
            while line_start < b.len() {
                let line_end = s[line_start..].find('\n').map(|i| line_start + i + 1).unwrap_or(b.len());
                let blank = s[line_start..line_end].trim().is_empty();
                if blank {
                    in_blank = seen_text;
                } else {
                    if in_blank {
                        cuts.push(line_start);
                    }
                    in_blank = false;
                    seen_text = true;
                }
                line_start = line_end;
            }
        }
        SENTENCE => {
            // After . ! ? (and closing quotes or brackets) followed by whitespace.
            let mut i = 0;
            while i < b.len() {
                if matches!(b[i], b'.' | b'!' | b'?') {
                    let mut j = i + 1;
                    while j < b.len() && matches!(b[j], b'"' | b'\'' | b')' | b']') {
                        j += 1;
                    }
                    if j < b.len() && (b[j] as char).is_ascii_whitespace() {
                        let k = skip_ws(j);
                        if k < b.len() {
                            cuts.push(k);
                        }
                        i = k;
                        continue;
                    }
                    i = j;
                    continue;
                }
                i += 1;
            }
        }
        LINE => {
            let mut i = 0;
            while let Some(p) = s[i..].find('\n') {
                let k = skip_ws(i + p + 1);
                if k >= b.len() {
                    break;
                }
                cuts.push(k);
                i = k;
            }
        }
        WORD => {
            let mut i = 0;
            let mut in_ws = false;
            for (p, c) in s.char_indices() {
                if c.is_whitespace() {
                    in_ws = true;
                } else if in_ws {
                    if p > i {
                        cuts.push(p);
                    }
                    in_ws = false;
                    i = p;
                }
            }
        }
        _ => unreachable!("character splits are done by split_chars"),
    }
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut prev = 0;
    for c in cuts {
        if c > prev {
            out.push((start + prev, start + c));
            prev = c;
        }
    }
    if prev < b.len() {
        out.push((start + prev, end));
    }
    out
}

/// Splits `text[start..end]` into pieces of at most `max_chars` characters
/// (a tokenizer gives at most one token per character).
fn split_chars(text: &str, start: usize, end: usize, max_chars: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = start;
    let mut n = 0;
    for (p, _) in text[start..end].char_indices() {
        if n == max_chars.max(1) {
            out.push((from, start + p));
            from = start + p;
            n = 0;
        }
        n += 1;
    }
    if from < end {
        out.push((from, end));
    }
    out
}

/// Cuts `text[start..end]` into pieces of at most `max` tokens, at the
/// strongest boundaries that get there; `before` is the boundary in front of
/// the span.
fn pieces(text: &str, start: usize, end: usize, kind: u8, before: u8, max: usize,
          count: &mut dyn FnMut(&str) -> usize, out: &mut Vec<Piece>) {
    let spans = if kind == CHAR {
        split_chars(text, start, end, max)
    } else {
        split_spans(text, start, end, kind)
    };
    for (i, (s, e)) in spans.into_iter().enumerate() {
        let b = if i == 0 { before } else { kind };
        let tokens = count(&text[s..e]);
        if tokens <= max || kind == CHAR {
            out.push(Piece { start: s, end: e, tokens, before: b });
        } else {
            pieces(text, s, e, kind - 1, b, max, count, out);
        }
    }
}

/// The chunks of `text` (see the module's documentation).
pub fn chunk_text(text: &str, p: &Params, count: &mut dyn FnMut(&str) -> usize) -> Vec<Chunk> {
    let max = p.max_tokens.max(1);
    let mut ps = Vec::new();
    pieces(text, 0, text.len(), PARAGRAPH, PARAGRAPH, max, count, &mut ps);
    // Whitespace-only pieces (leading blank lines) join their neighbour.
    let mut merged: Vec<Piece> = Vec::with_capacity(ps.len());
    let mut pending_start: Option<usize> = None;
    for x in ps {
        if x.tokens == 0 {
            match merged.last_mut() {
                Some(l) => l.end = x.end,
                None => pending_start = Some(pending_start.unwrap_or(x.start)),
            }
            continue;
        }
        let mut x = x;
        if let Some(s) = pending_start.take() {
            x.start = s;
        }
        merged.push(x);
    }
    let ps = merged;
    let n = ps.len();
    if n == 0 {
        return Vec::new();
    }
    // Tokens of pieces [i, j) = cum[j] - cum[i].
    let mut cum = vec![0usize; n + 1];
    for (i, x) in ps.iter().enumerate() {
        cum[i + 1] = cum[i] + x.tokens;
    }
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let mut j = i + 1;
        while j < n && cum[j + 1] - cum[i] <= max {
            j += 1;
        }
        if j < n {
            // End in front of the strongest boundary among the ends that
            // keep the chunk at least half full (the latest one on ties).
            let mut best = j;
            let mut e = j - 1;
            while e > i && cum[e] - cum[i] >= max / 2 {
                if ps[e].before > ps[best].before {
                    best = e;
                }
                e -= 1;
            }
            j = best;
        }
        out.push(Chunk { offset: ps[i].start, length: ps[j - 1].end - ps[i].start, tokens: cum[j] - cum[i] });
        if j == n {
            break;
        }
        // The next chunk starts with the last pieces of this one, up to
        // overlap_tokens of them, but always after this chunk's start.
        let mut k = j;
        while k - 1 > i && cum[j] - cum[k - 1] <= p.overlap_tokens {
            k -= 1;
        }
        i = k;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(text: &str, max: usize, overlap: usize) -> Vec<Chunk> {
        chunk_text(text, &Params { max_tokens: max, overlap_tokens: overlap }, &mut estimate_tokens)
    }

    fn words(n: usize, tag: &str) -> String {
        (0..n).map(|i| format!("{tag}{}", i % 10)).collect::<Vec<_>>().join(" ")
    }

    /// Invariants every chunking must have.
    fn check(text: &str, cs: &[Chunk], max: usize) {
        if estimate_tokens(text) == 0 {
            assert!(cs.is_empty());
            return;
        }
        assert!(!cs.is_empty());
        assert_eq!(cs[0].offset, 0, "first chunk starts the text");
        let last = cs.last().unwrap();
        assert_eq!(last.offset + last.length, text.len(), "last chunk ends the text");
        let mut covered = 0;
        for (i, c) in cs.iter().enumerate() {
            assert!(c.length > 0, "chunk {i} empty");
            let s = &text[c.offset..c.offset + c.length]; // panics off a char boundary
            assert!(!s.trim().is_empty(), "chunk {i} is whitespace");
            // The sum of the pieces' counts: exact where pieces end at
            // whitespace, an upper bound where a word was cut.
            assert!(estimate_tokens(s) <= c.tokens, "chunk {i}: token count of its text");
            assert!(c.tokens <= max, "chunk {i}: {} tokens > {max}", c.tokens);
            assert!(c.offset <= covered, "chunk {i} leaves a gap at {covered}");
            if i > 0 {
                assert!(c.offset > cs[i - 1].offset, "chunk {i} does not advance");
            }
            covered = covered.max(c.offset + c.length);
        }
    }

    #[test]
    fn small_text_is_one_chunk_covering_it() {
        for t in ["hello", "  Hello world.\n\nSecond paragraph.\n\n\n", "é\n"] {
            let cs = chunks(t, 200, 32);
            assert_eq!(cs.len(), 1, "{t:?}");
            assert_eq!((cs[0].offset, cs[0].length), (0, t.len()));
        }
    }

    #[test]
    fn empty_and_blank_texts_have_no_chunk() {
        assert!(chunks("", 200, 32).is_empty());
        assert!(chunks(" \n\n\t \n", 200, 32).is_empty());
    }

    #[test]
    fn paragraphs_are_kept_whole() {
        // Three 60-token paragraphs, 100 tokens per chunk: each chunk is one
        // paragraph (the second cannot fit beside the first), and the cut is
        // exactly at the blank line.
        let paras: Vec<String> = (0..3).map(|i| format!("{}.", words(59, &format!("p{i}w")))).collect();
        let text = paras.join("\n\n") + "\n";
        let cs = chunks(&text, 100, 0);
        check(&text, &cs, 100);
        assert_eq!(cs.len(), 3);
        for (c, p) in cs.iter().zip(&paras) {
            let s = &text[c.offset..c.offset + c.length];
            assert!(s.starts_with(p.as_str()), "{s:?}");
            assert_eq!(s.trim_end(), p);
        }
    }

    #[test]
    fn long_paragraph_splits_at_sentences_with_overlap() {
        let sents: Vec<String> = (0..12).map(|i| format!("{}.", words(19, &format!("s{i}w")))).collect();
        let text = sents.join(" ");
        let cs = chunks(&text, 70, 25);
        check(&text, &cs, 70);
        assert!(cs.len() > 3);
        for c in &cs {
            let s = &text[c.offset..c.offset + c.length];
            // Every chunk starts a sentence and ends one.
            assert!(s.starts_with('s'), "{s:?}");
            assert!(s.trim_end().ends_with('.'), "{s:?}");
        }
        // Consecutive chunks share the last sentence (20 tokens <= 25).
        for w in cs.windows(2) {
            assert!(w[1].offset < w[0].offset + w[0].length, "no overlap: {w:?}");
        }
    }

    #[test]
    fn no_overlap_when_asked_for_none() {
        let text = (0..10).map(|i| format!("{}.", words(19, &format!("s{i}w")))).collect::<Vec<_>>().join(" ");
        let cs = chunks(&text, 50, 0);
        check(&text, &cs, 50);
        for w in cs.windows(2) {
            assert_eq!(w[1].offset, w[0].offset + w[0].length);
        }
    }

    #[test]
    fn huge_words_and_lines_split_on_char_boundaries() {
        // No whitespace at all, multi-byte characters.
        let text: String = "ä€𝄞x".repeat(500);
        let cs = chunks(&text, 40, 5);
        check(&text, &cs, 40);
        // One long line of short words without sentence ends.
        let text = words(1000, "w");
        let cs = chunks(&text, 64, 8);
        check(&text, &cs, 64);
        // Code-like lines without sentence punctuation.
        let text: String = (0..300).map(|i| format!("    x{i} = f(y{i});\n")).collect();
        let cs = chunks(&text, 60, 10);
        check(&text, &cs, 60);
        for c in &cs {
            // Indentation trails the line before: chunks start at a statement.
            assert!(text[c.offset..].starts_with('x') || c.offset == 0);
        }
    }

    #[test]
    fn deterministic_and_token_counter_is_used() {
        let text = (0..40).map(|i| format!("Paragraph {i} has some words in it. And a second sentence here!\n\n")).collect::<String>();
        let a = chunks(&text, 50, 10);
        let b = chunks(&text, 50, 10);
        assert_eq!(a, b);
        // A counter that says every piece is one token per byte cuts smaller.
        let mut bytes = |s: &str| s.trim().len();
        let c = chunk_text(&text, &Params { max_tokens: 50, overlap_tokens: 10 }, &mut bytes);
        assert!(c.len() > a.len());
        for x in &c {
            assert!(text[x.offset..x.offset + x.length].trim().len() <= 50 + 2);
        }
    }

    #[test]
    fn leading_whitespace_belongs_to_the_first_chunk() {
        let text = format!("\n\n\n{}.\n\n{}.", words(40, "a"), words(40, "b"));
        let cs = chunks(&text, 45, 0);
        check(&text, &cs, 45);
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0].offset, 0);
    }

    #[test]
    fn pseudo_random_texts_keep_the_invariants() {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let atoms = ["word", "ünïcödé", "x", "Sentence.", "end!", "\n", "\n\n", "  ", "(a)", "really-long-identifier_name", "€", "? "];
        for round in 0..200 {
            let len = (next() % 400) as usize;
            let mut t = String::new();
            for _ in 0..len {
                t.push_str(atoms[(next() % atoms.len() as u64) as usize]);
                if next() % 3 != 0 {
                    t.push(' ');
                }
            }
            let max = 1 + (next() % 60) as usize;
            let ov = (next() % 20) as usize;
            let cs = chunks(&t, max, ov);
            check(&t, &cs, max);
            assert_eq!(cs, chunks(&t, max, ov), "round {round}");
        }
    }
}
