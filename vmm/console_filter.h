/* SPDX-License-Identifier: MIT */
/*
 * console_filter.h: the terminal escape filter of the guest console
 * (prefix con_filter_), on when the console's sink is a terminal
 * (vmm/console.h).
 *
 * Passes (only draw on the screen; ECMA-48 / xterm ctlseqs names):
 *  - text: printable ASCII, DEL, valid UTF-8 (UTF-8 locale) or 0xa0-0xff
 *    (8-bit locale); C0 BEL, BS, HT, LF, VT, FF, CR;
 *  - CSI without a private prefix ending in A B C D E F G H I J K L M P S T X
 *    Z @ ` a d e f g m r s u: cursor movement and position, erase (ED, EL,
 *    ECH), insert/delete (ICH, DCH, IL, DL), scroll (SU, SD), tabs (CHT,
 *    CBT, TBC), SGR colours and attributes, margins (DECSTBM), save/restore
 *    cursor; CSI Ps SP q (cursor style); CSI 4 h/l (insert mode);
 *    CSI ? Pm h/l when every Pm is 1, 7, 12, 25, 47, 1047, 1048 or 1049
 *    (cursor keys, autowrap, blink, cursor visible, alternate screen);
 *  - ESC 7, ESC 8, ESC D, ESC E, ESC M, ESC =, ESC >, and character set
 *    designation ESC ( ) * + - . / F.
 * Drops everything else, in particular:
 *  - OSC (ESC ], 0x9d): window title, clipboard (OSC 52), palette and colour
 *    queries, hyperlinks, notifications; DCS (ESC P: DECRQSS, XTGETTCAP),
 *    SOS (ESC X), PM (ESC ^), APC (ESC _) strings, up to BEL or ST;
 *  - sequences that make the terminal answer: DSR (CSI n), DA (CSI c, > c,
 *    = c), DECID (ESC Z), DECRQM (CSI $ p), DECREQTPARM (CSI x), window
 *    reports and operations (CSI t), XTVERSION (CSI > q), XTSMGRAPHICS,
 *    ENQ (answerback);
 *  - other modes (mouse and focus reporting, bracketed paste...), key
 *    modifier settings (CSI > m), resets (ESC c, CSI ! p), media copy
 *    (CSI i), repeat (CSI b), S7C1T/S8C1T and other ESC sequences;
 *  - other C0 controls (NUL, SO, SI, XON, XOFF...), CAN and SUB (they
 *    cancel a sequence), and C1 controls: raw 0x80-0x9f in an 8-bit
 *    locale, C2 80-C2 9F (U+0080-U+009F) in UTF-8, where xterm acts on them;
 *    an allowed 8-bit CSI goes out as ESC [.
 * A held sequence longer than CON_SEQ_MAX is dropped; a string longer than
 * CON_STR_MAX ends, and what follows is shown as text (its introducer never
 * reached the terminal). The locale (con_locale_utf8()) picks UTF-8 or 8-bit.
 */
#ifndef AGENTVMM_VMM_CONSOLE_FILTER_H
#define AGENTVMM_VMM_CONSOLE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CON_SEQ_MAX 64            /* a CSI or ESC sequence held until its final byte */
#define CON_STR_MAX (64 * 1024)   /* a dropped string longer than this ends: text again */
#define CON_FILTER_SLACK (CON_SEQ_MAX + 2) /* con_filter_feed()'s output beyond its input */

struct con_filter {
	uint8_t cf_state;           /* ground, escape, CSI, string... (console_filter.c) */
	bool cf_utf8;               /* UTF-8 terminal: C1 controls arrive as C2 80..C2 9F */
	bool cf_c2;                 /* UTF-8: a C2 lead byte held, C1 or not */
	uint8_t cf_u8_left;         /* UTF-8 continuation bytes still expected */
	uint8_t cf_seq_len;
	uint8_t cf_seq[CON_SEQ_MAX]; /* the held sequence, in 7-bit form ("ESC [" ...) */
	uint32_t cf_str_len;        /* bytes of the string being dropped */
	uint64_t cf_dropped;        /* sequences and controls dropped */
};

/* con_filter_init() - ground state; (utf8): the terminal decodes UTF-8. */
void con_filter_init(struct con_filter *f, bool utf8);

/*
 * con_filter_feed() - filter (len) bytes at (in), written by the guest, into
 * (out), which must hold (len) + CON_FILTER_SLACK bytes. A sequence split
 * across calls is held in (f) until it is complete.
 * Return: bytes written to (out).
 * Context: one thread at a time per filter. Guest: all of (in).
 */
size_t con_filter_feed(struct con_filter *f, const uint8_t *in, size_t len, uint8_t *out);

/* con_locale_utf8() - whether LC_ALL / LC_CTYPE / LANG (the first set) names UTF-8. */
bool con_locale_utf8(void);

#endif
