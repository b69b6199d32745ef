//! Line charts for the figures that vary one setting (stream count, round
//! trip): panels side by side, a line per server, drawn to SVG from the
//! figures' CSV, so `--charts` can redraw them from a run's files.

use std::path::Path;

use plotters::prelude::*;

/// One line of a panel.
pub struct Line {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    /// Index into the palette: one color per server.
    pub color: usize,
    pub dashed: bool,
}

/// One chart of a figure.
pub struct Panel {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub log_x: bool,
    pub lines: Vec<Line>,
}

const PALETTE: [RGBColor; 5] = [
    RGBColor(31, 119, 180),  // yes-server: blue
    RGBColor(214, 39, 40),   // Java reference: red
    RGBColor(110, 110, 110), // floor / bulk TCP: grey
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

/// Draws `panels` in a grid two wide under `caption` into `path`.
pub fn draw(path: &Path, caption: &str, panels: &[Panel]) {
    let columns = 2.min(panels.len()).max(1);
    let rows = panels.len().div_ceil(columns);
    let root =
        SVGBackend::new(path, (560 * columns as u32, 380 * rows as u32 + 40)).into_drawing_area();
    root.fill(&WHITE).unwrap();
    let root = root.titled(caption, ("sans-serif", 20)).unwrap();
    for (area, panel) in root.split_evenly((rows, columns)).iter().zip(panels) {
        draw_panel(area, panel);
    }
    root.present().unwrap();
}

fn draw_panel(area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>, panel: &Panel) {
    // Only finite points: an infinite one would make the axes endless.
    let points = || {
        panel
            .lines
            .iter()
            .flat_map(|l| l.points.iter())
            .filter(|p| p.0.is_finite() && p.1.is_finite())
    };
    let x_max = points().map(|p| p.0).fold(1.0, f64::max);
    let x_min = points().map(|p| p.0).fold(x_max, f64::min);
    let y_max = points().map(|p| p.1).fold(0.0, f64::max) * 1.15 + f64::EPSILON;
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(&panel.title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(55);
    if panel.log_x {
        let mut chart = builder
            .build_cartesian_2d((x_min * 0.8..x_max * 1.25).log_scale(), 0.0..y_max)
            .unwrap();
        chart
            .configure_mesh()
            .x_desc(&panel.x_desc)
            .y_desc(&panel.y_desc)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()
            .unwrap();
        draw_lines(&mut chart, panel);
    } else {
        let pad = (x_max - x_min).max(1.0) * 0.05;
        let mut chart = builder
            .build_cartesian_2d(x_min - pad..x_max + pad, 0.0..y_max)
            .unwrap();
        chart
            .configure_mesh()
            .x_desc(&panel.x_desc)
            .y_desc(&panel.y_desc)
            .draw()
            .unwrap();
        draw_lines(&mut chart, panel);
    }
}

fn draw_lines<'a, X>(
    chart: &mut ChartContext<
        'a,
        SVGBackend<'a>,
        Cartesian2d<X, plotters::coord::types::RangedCoordf64>,
    >,
    panel: &Panel,
) where
    X: Ranged<ValueType = f64>,
{
    for line in &panel.lines {
        let color = PALETTE[line.color % PALETTE.len()];
        let style = color.stroke_width(2);
        let points: Vec<(f64, f64)> = line
            .points
            .iter()
            .copied()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .collect();
        let series = if line.dashed {
            chart.draw_series(DashedLineSeries::new(points.clone(), 6, 4, style))
        } else {
            chart.draw_series(LineSeries::new(points.clone(), style))
        };
        let dashed = line.dashed;
        series.unwrap().label(&line.label).legend(move |(x, y)| {
            let gap = if dashed { 6 } else { 0 };
            EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (10 - gap / 2, 0)], style)
                + PathElement::new(vec![(10 + gap / 2, 0), (20, 0)], style)
        });
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )
            .unwrap();
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 11))
        .draw()
        .unwrap();
}
