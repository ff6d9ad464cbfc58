// SPDX-License-Identifier: MIT
/* console_filter.c: the console's escape filter: drops what acts on the host terminal. */
#include "vmm/console_filter.h"

#include <stdlib.h>
#include <string.h>

#include "vmm/compiler.h"

/*
 * States of the filter, after the VT500 parser (vt100.net/emu/dec_ansi_parser)
 * reduced to what the filter must tell apart. CAN and SUB cancel any
 * sequence, ESC starts a new one from anywhere, a C1 control (decoded first)
 * as well. Held sequences are emitted whole or not at all.
 */
enum {
	CF_GROUND,
	CF_ESC,       /* after ESC */
	CF_ESC_INTER, /* ESC + intermediate (0x20-0x2f), held */
	CF_CSI,       /* ESC [ or CSI, parameters and intermediates held */
	CF_CSI_SKIP,  /* a CSI too long to hold: dropped up to its final byte */
	CF_STR,       /* OSC, DCS, SOS, PM, APC: dropped up to BEL or ST */
	CF_STR_ESC,   /* ESC inside a string: '\' ends it (ST), anything else starts anew */
};

#define ESC 0x1b
#define CAN 0x18
#define SUB 0x1a
#define BEL 0x07
#define C1_DCS 0x90
#define C1_SOS 0x98
#define C1_CSI 0x9b
#define C1_ST 0x9c
#define C1_OSC 0x9d
#define C1_PM 0x9e
#define C1_APC 0x9f

void con_filter_init(struct con_filter *f, bool utf8)
{
	memset(f, 0, sizeof(*f));
	f->cf_utf8 = utf8;
}

bool con_locale_utf8(void)
{
	static const char *const vars[] = { "LC_ALL", "LC_CTYPE", "LANG" };

	for (size_t i = 0; i < ARRAY_SIZE(vars); i++) {
		const char *v = getenv(vars[i]);

		if (v && *v)
			return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
	}
	return false;
}

/* C0 controls that only move the cursor or ring the bell: BEL BS HT LF VT FF CR. */
static bool c0_passes(uint8_t b)
{
	return b >= 0x07 && b <= 0x0d;
}

/* Drop whatever sequence is held or being skipped. */
static void seq_abort(struct con_filter *f)
{
	if (f->cf_state != CF_GROUND)
		f->cf_dropped++;
	f->cf_state = CF_GROUND;
	f->cf_seq_len = 0;
}

/* Begin a sequence; one that was held is dropped (ESC inside a CSI...). */
static void seq_start(struct con_filter *f, uint8_t state, const char *intro)
{
	if (f->cf_state != CF_GROUND && f->cf_state != CF_ESC && f->cf_state != CF_STR_ESC)
		f->cf_dropped++;
	f->cf_state = state;
	f->cf_str_len = 0;
	f->cf_seq_len = (uint8_t)strlen(intro);
	memcpy(f->cf_seq, intro, f->cf_seq_len);
}

/* Every parameter of the held CSI (after "ESC [" and the prefix) is one of (ok). */
static bool csi_params_in(const struct con_filter *f, unsigned from, const unsigned *ok,
			  size_t nr_ok)
{
	unsigned v = 0, digits = 0;

	for (unsigned i = from; i <= f->cf_seq_len; i++) {
		uint8_t b = i < f->cf_seq_len ? f->cf_seq[i] : ';';

		if (b >= '0' && b <= '9') {
			if (++digits > 5)
				return false;
			v = v * 10 + (b - '0');
			continue;
		}
		if (b != ';')
			return false;
		bool found = false;
		for (size_t k = 0; k < nr_ok; k++)
			found |= digits && v == ok[k];
		if (!found)
			return false;
		v = digits = 0;
	}
	return true;
}

/*
 * The CSI sequences that pass (ECMA-48 and xterm's ctlseqs): cursor movement,
 * erase, insert/delete, scroll, SGR, margins, save/restore cursor, tabs,
 * cursor style (DECSCUSR), and DEC modes that only change the display.
 * Everything else is dropped, in particular DSR (n), DA (c), window
 * operations and reports (t), DECREQTPARM (x), DECRQM ($p), XTVERSION (> q),
 * media copy (i), REP (b).
 */
static bool csi_allowed(const struct con_filter *f, uint8_t final)
{
	static const unsigned dec_modes[] = { 1, 7, 12, 25, 47, 1047, 1048, 1049 };
	static const unsigned ansi_modes[] = { 4 };
	uint8_t prefix = f->cf_seq_len > 2 ? f->cf_seq[2] : 0;
	unsigned inter = 0, params = 2;

	for (unsigned i = 2; i < f->cf_seq_len; i++)
		inter += f->cf_seq[i] >= 0x20 && f->cf_seq[i] <= 0x2f;
	if (prefix >= '<' && prefix <= '?')
		params = 3;
	else
		prefix = 0;
	if (inter)
		return inter == 1 && !prefix && f->cf_seq[f->cf_seq_len - 1] == ' ' && final == 'q';
	if (final == 'h' || final == 'l') {
		if (prefix == '?')
			return csi_params_in(f, params, dec_modes, ARRAY_SIZE(dec_modes));
		return !prefix && csi_params_in(f, params, ansi_modes, ARRAY_SIZE(ansi_modes));
	}
	return !prefix && final && strchr("ABCDEFGHIJKLMPSTXZ@`adefgmrsu", final);
}

/* ESC + one byte that passes: save/restore cursor, index, next line, keypad modes. */
static bool esc_final_allowed(uint8_t b)
{
	return b && strchr("78DEM=>", b);
}

/* A C1 control (raw, or decoded from UTF-8): introducers start a sequence, the rest are dropped. */
static void filter_c1(struct con_filter *f, uint8_t c1)
{
	switch (c1) {
	case C1_CSI:
		seq_start(f, CF_CSI, "\033[");
		return;
	case C1_OSC:
	case C1_DCS:
	case C1_SOS:
	case C1_PM:
	case C1_APC:
		seq_start(f, CF_STR, "");
		return;
	default:
		/* ST ends a string; any other C1 (IND, NEL, HTS...) is dropped */
		seq_abort(f);
		if (c1 != C1_ST)
			f->cf_dropped++;
		return;
	}
}

static size_t emit_seq(struct con_filter *f, uint8_t final, uint8_t *out)
{
	size_t n = f->cf_seq_len;

	memcpy(out, f->cf_seq, n);
	out[n++] = final;
	f->cf_seq_len = 0;
	f->cf_state = CF_GROUND;
	return n;
}

/* One byte in the ground state. Return: bytes written to (out). */
static size_t ground_byte(struct con_filter *f, uint8_t b, uint8_t *out)
{
	if (b < 0x80 || !f->cf_utf8)
		f->cf_u8_left = 0; /* a UTF-8 sequence cut short */
	if (b < 0x20) {
		if (c0_passes(b)) {
			*out = b;
			return 1;
		}
		f->cf_dropped++; /* NUL, ENQ (answerback), SO/SI, XON/XOFF... */
		return 0;
	}
	if (b < 0x80 || !f->cf_utf8) {
		*out = b; /* ASCII; in an 8-bit locale C1 never gets here */
		return 1;
	}
	/* UTF-8: leads and continuations pass; a stray continuation or bad lead does not */
	if (b < 0xc0) {
		if (!f->cf_u8_left)
			return 0;
		f->cf_u8_left--;
		*out = b;
		return 1;
	}
	f->cf_u8_left = b < 0xe0 ? 1 : b < 0xf0 ? 2 : b < 0xf5 ? 3 : 0;
	if (!f->cf_u8_left)
		return 0;
	*out = b;
	return 1;
}

static size_t filter_byte(struct con_filter *f, uint8_t b, uint8_t *out);

/* One byte inside a sequence. Return: bytes written to (out). */
static size_t seq_byte(struct con_filter *f, uint8_t b, uint8_t *out)
{
	switch (f->cf_state) {
	case CF_STR:
		if (b == BEL) {
			f->cf_state = CF_GROUND;
		} else if (++f->cf_str_len > CON_STR_MAX) {
			/* unterminated: what follows is text again; the intro was never emitted */
			seq_abort(f);
			return filter_byte(f, b, out);
		}
		return 0;
	case CF_STR_ESC:
		if (b == '\\') {
			f->cf_state = CF_GROUND; /* ST */
			return 0;
		}
		seq_start(f, CF_ESC, "\033");
		return filter_byte(f, b, out);
	case CF_ESC:
		if (b == '[') {
			seq_start(f, CF_CSI, "\033[");
		} else if (b == ']' || b == 'P' || b == 'X' || b == '^' || b == '_') {
			seq_start(f, CF_STR, "");
		} else if (b >= 0x20 && b <= 0x2f) {
			f->cf_seq[f->cf_seq_len++] = b;
			f->cf_state = CF_ESC_INTER;
		} else if (esc_final_allowed(b)) {
			return emit_seq(f, b, out);
		} else {
			seq_abort(f); /* RIS, DECID, S7C1T/S8C1T... */
		}
		return 0;
	case CF_ESC_INTER:
		if (b >= 0x20 && b <= 0x2f && f->cf_seq_len < CON_SEQ_MAX) {
			f->cf_seq[f->cf_seq_len++] = b;
			return 0;
		}
		/* only character set designation passes: ESC ( B, ESC ) 0... */
		if (b >= 0x30 && b <= 0x7e && f->cf_seq_len == 2 && strchr("()*+-./", f->cf_seq[1]))
			return emit_seq(f, b, out);
		seq_abort(f);
		return 0;
	case CF_CSI:
		if (b >= 0x40 && b <= 0x7e) {
			if (csi_allowed(f, b))
				return emit_seq(f, b, out);
			seq_abort(f);
		} else if (f->cf_seq_len >= CON_SEQ_MAX) {
			f->cf_state = CF_CSI_SKIP;
		} else {
			f->cf_seq[f->cf_seq_len++] = b;
		}
		return 0;
	default: /* CF_CSI_SKIP */
		if (b >= 0x40 && b <= 0x7e)
			seq_abort(f);
		return 0;
	}
}

/* One byte after C1 decoding. Return: bytes written to (out). */
static size_t filter_byte(struct con_filter *f, uint8_t b, uint8_t *out)
{
	if (b == CAN || b == SUB) {
		seq_abort(f);
		return 0;
	}
	if (b == ESC) {
		if (f->cf_state == CF_STR)
			f->cf_state = CF_STR_ESC;
		else
			seq_start(f, CF_ESC, "\033");
		return 0;
	}
	if (f->cf_state == CF_GROUND)
		return ground_byte(f, b, out);
	if (f->cf_state == CF_STR || f->cf_state == CF_STR_ESC)
		return seq_byte(f, b, out);
	/* inside ESC/CSI: C0 controls act at once (VT500), non-ASCII ends the sequence */
	if (b < 0x20) {
		*out = b;
		return c0_passes(b) ? 1 : 0;
	}
	if (b >= 0x80) {
		seq_abort(f);
		return ground_byte(f, b, out);
	}
	if (b == 0x7f)
		return 0;
	return seq_byte(f, b, out);
}

size_t con_filter_feed(struct con_filter *f, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t b = in[i];

		if (!f->cf_utf8) {
			if (b >= 0x80 && b <= 0x9f)
				filter_c1(f, b);
			else
				n += filter_byte(f, b, out + n);
			continue;
		}
		/* UTF-8: C2 80..C2 9F is a C1 control (xterm acts on it); hold C2 to know */
		if (f->cf_c2) {
			f->cf_c2 = false;
			if (b >= 0x80 && b <= 0x9f) {
				filter_c1(f, b);
				continue;
			}
			if (f->cf_state == CF_GROUND && b >= 0xa0 && b <= 0xbf) {
				out[n++] = 0xc2;
				out[n++] = b;
				continue;
			}
			/* a lone C2: invalid, dropped; (b) is itself */
		}
		if (b == 0xc2 && f->cf_state != CF_STR) {
			f->cf_c2 = true;
			f->cf_u8_left = 0;
			continue;
		}
		if (b == 0xc2 || (b >= 0x80 && b <= 0x9f && f->cf_state == CF_STR)) {
			/* inside a dropped string: only C2 9C (ST) matters */
			f->cf_c2 = b == 0xc2;
			continue;
		}
		n += filter_byte(f, b, out + n);
	}
	return n;
}
