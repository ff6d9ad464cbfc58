// SPDX-License-Identifier: MIT
/* svg.c: the SVG bar chart of a boot benchmark. Prefix bench_. */
#include "bench/report.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define SVG_W 960
#define SVG_LEFT 70        /* room for the y-axis labels */
#define SVG_RIGHT 20
#define SVG_PANEL_H 300    /* bar area height of each panel */
#define SVG_MAX_SERIES 8

static const char *const svg_colors[SVG_MAX_SERIES] = {
	"#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
};

/* Text with &, <, > and quotes escaped. */
static void svg_text(FILE *f, double x, double y, const char *anchor, int size, const char *s)
{
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\">", x, y,
		anchor, size);
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
	fputs("</text>\n", f);
}

/* A "nice" axis maximum (1, 2 or 5 times a power of ten) at or above (v). */
static double nice_ceil(double v)
{
	double p, m;

	if (!(v > 0))
		return 1;
	p = pow(10, floor(log10(v)));
	m = v / p;
	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/*
 * One panel at (top): groups of bars for metrics (m0..m1), one bar per drawn
 * series: median bar, min-max whisker.
 */
static void svg_panel(FILE *f, const struct bench_series *const *s, size_t n, int m0, int m1,
		      double top, const char *ylabel)
{
	int groups = m1 - m0 + 1;
	double gw = (double)(SVG_W - SVG_LEFT - SVG_RIGHT) / groups;
	double bw = gw * 0.8 / (double)(n ? n : 1), vmax = 0, bottom = top + SVG_PANEL_H;
	char buf[96];

	for (int m = m0; m <= m1; m++)
		for (size_t i = 0; i < n; i++)
			if (s[i]->st[m].n && s[i]->st[m].max > vmax)
				vmax = s[i]->st[m].max;
	vmax = nice_ceil(vmax);
	for (int t = 0; t <= 4; t++) {
		double y = bottom - SVG_PANEL_H * t / 4.0;

		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
			SVG_LEFT, y, SVG_W - SVG_RIGHT, y);
		snprintf(buf, sizeof(buf), "%g", vmax * t / 4.0);
		svg_text(f, SVG_LEFT - 6, y + 4, "end", 11, buf);
	}
	fprintf(f, "<text transform=\"translate(16,%.1f) rotate(-90)\" text-anchor=\"middle\" "
		   "font-size=\"12\">%s</text>\n", top + SVG_PANEL_H / 2.0, ylabel);
	for (int m = m0; m <= m1; m++) {
		double gx = SVG_LEFT + gw * (m - m0) + gw * 0.1;

		for (size_t i = 0; i < n; i++) {
			const struct bench_stats *st = &s[i]->st[m];
			double x = gx + bw * (double)i, h, lo, hi;

			if (!st->n)
				continue;
			h = SVG_PANEL_H * st->median / vmax;
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
				   "fill=\"%s\"><title>%s: median %.2f %s</title></rect>\n",
				x, bottom - h, bw * 0.9, h, svg_colors[i % SVG_MAX_SERIES], s[i]->name,
				st->median, bench_metrics[m].unit);
			lo = bottom - SVG_PANEL_H * st->min / vmax;
			hi = bottom - SVG_PANEL_H * st->max / vmax;
			fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
				   "stroke=\"#000\"/>\n", x + bw * 0.45, lo, x + bw * 0.45, hi);
			snprintf(buf, sizeof(buf), "%.3g", st->median);
			svg_text(f, x + bw * 0.45, bottom - h - 4, "middle", 9, buf);
		}
		svg_text(f, SVG_LEFT + gw * (m - m0 + 0.5), bottom + 16, "middle", 11,
			 bench_metrics[m].label);
	}
	fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#000\"/>\n",
		SVG_LEFT, bottom, SVG_W - SVG_RIGHT, bottom);
}

int bench_svg_write(FILE *f, const struct bench_series *s, size_t n, const char *title,
		    const char *subtitle)
{
	const struct bench_series *drawn[SVG_MAX_SERIES];
	size_t nd = 0;
	double top1 = 90, top2 = top1 + SVG_PANEL_H + 70;
	int h = (int)(top2 + SVG_PANEL_H + 50);

	for (size_t i = 0; i < n && nd < SVG_MAX_SERIES; i++)
		if (strcmp(s[i].method, "console") == 0)
			drawn[nd++] = &s[i];
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n", SVG_W, h, SVG_W, h);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
	svg_text(f, SVG_W / 2.0, 24, "middle", 16, title);
	svg_text(f, SVG_W / 2.0, 44, "middle", 11, subtitle);
	for (size_t i = 0; i < nd; i++) {
		double x = SVG_LEFT + 180.0 * (double)i;

		fprintf(f, "<rect x=\"%.1f\" y=\"56\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", x,
			svg_colors[i]);
		svg_text(f, x + 16, 67, "start", 12, drawn[i]->name);
	}
	svg_panel(f, drawn, nd, BENCH_M_READY, BENCH_M_TOTAL, top1,
		  "ms (median bar, min-max line)");
	svg_panel(f, drawn, nd, BENCH_M_VMM_RSS, BENCH_M_VMM_RSS, top2,
		  "MiB: VMM RSS excluding guest RAM");
	fputs("</svg>\n", f);
	return ferror(f) ? -EIO : 0;
}
