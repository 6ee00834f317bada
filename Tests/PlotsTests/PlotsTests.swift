// The shared drawing and formatting: locale-free numbers, nice axis ticks, sparklines, line charts.

import Foundation
import Testing

@testable import Plots

@Suite("Formatting")
struct FormatTests {
    @Test func numbersPrintTheSameEverywhere() {
        #expect(Format.g(0.000123456) == "0.0001235")
        #expect(Format.g(123456) == "1.235e+05")
        #expect(Format.g(-0.0) == "0")
        #expect(Format.g(.nan) == "NaN")
        #expect(Format.g(-.infinity) == "-inf")
        #expect(Format.fixed(-0.0001, 2) == "0.00")
        #expect(Format.fixed(2.5, 0) == "2")
        #expect(Format.count(1_709_184) == "1,709,184")
        #expect(Format.coordinate(12.50) == "12.5")
        #expect(Format.coordinate(-0.001) == "0")
    }

    @Test func ticksAreNiceAndLabelledConsistently() {
        let t = Ticks(0.13, 2.61)
        #expect(t.values == [0, 0.5, 1, 1.5, 2, 2.5, 3])
        #expect(t.values.map(t.label) == ["0.0", "0.5", "1.0", "1.5", "2.0", "2.5", "3.0"])
        let lr = Ticks(1e-5, 3e-4)
        #expect(lr.values.map(lr.label) == ["0.0", "0.5", "1.0", "1.5", "2.0", "2.5", "3.0"])
        #expect(lr.title("learning rate") == "learning rate (×10⁻⁴)")
        let steps = Ticks(0, 2, count: 6, integer: true)
        #expect(steps.values == [0, 1, 2])
        let flat = Ticks(5, 5)
        #expect(flat.lo < 5 && flat.hi > 5)
    }

    @Test func sparklinesScaleToTheirRange() {
        #expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█")
        #expect(sparkline([1, .nan, 1]) == "▄ ▄")
        #expect(sparkline(Array(repeating: 2.0, count: 100), width: 10) == String(repeating: "▄", count: 10))
        #expect(sparkline([1e308, -1e308, 0]).count == 3)
        #expect(sparkline([.nan, .infinity]) == "  ")
        #expect(sparkline([]) == "" && sparkline([1, 2], width: 0) == "")
    }
}

@Suite("Charts")
struct ChartTests {
    @Test func aChartWithoutAYLabelDrawsNoAxisTitle() {
        let series = [Series(label: "loss", x: [0, 1, 2], y: [3, 2, 1])]
        let titled = LineChart(title: "t", xLabel: "step", yLabel: "loss", series: series).render()
        let untitled = LineChart(title: "t", xLabel: "step", yLabel: "", series: series).render()
        #expect(titled.contains("rotate(-90"))
        #expect(!untitled.contains("rotate(-90"))
        #expect(untitled.hasPrefix("<svg ") && untitled.hasSuffix("</svg>\n"))
    }

    @Test func seriesMayShareAColourAndBeDrawnAsPoints() {
        let series = [
            Series(label: "DPO", x: [0.5, 1.5], y: [1, 2]), Series(label: "DPO", x: [0, 2], y: [0, 3]),
            Series(label: "PPO", x: [0.25, 1], y: [1, 1.5]),
        ]
        var chart = LineChart(title: "t", xLabel: "KL", yLabel: "reward", series: series)
        let plain = chart.render()
        chart.colors = [0, 0, 1]
        chart.points = [true, false, true]
        let svg = chart.render()
        // Two points of DPO and two of PPO, one line (DPO's), in two colours; one legend entry per colour.
        #expect(svg.components(separatedBy: "<circle").count == 1 + 4 + 1)
        #expect(svg.components(separatedBy: "<polyline").count == 2)
        #expect(svg.components(separatedBy: ">DPO<").count == 2 && svg.components(separatedBy: ">PPO<").count == 2)
        #expect(!svg.contains(palette[2]) && plain.contains(palette[2]))
        // Fractional x values get fractional ticks; whole steps keep whole ticks.
        #expect(svg.contains(">0.5<"))
        let steps = LineChart(title: "t", xLabel: "step", yLabel: "", series: [Series(label: "y", x: [0, 1, 2], y: [1, 2, 3])]).render()
        #expect(!steps.contains(">0.5<"))
    }

    @Test func nanBreaksALineAndALonePointIsADot() {
        let svg = LineChart(title: "t", xLabel: "step", yLabel: "y", series: [Series(label: "y", x: [0, 1, 2, 3], y: [1, .nan, 2, 3])]).render()
        #expect(svg.components(separatedBy: "<polyline").count == 2)
        #expect(svg.components(separatedBy: "<circle").count == 2)
    }
}
