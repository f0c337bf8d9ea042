// Apache ECharts, only the parts the numbers use (bar and line charts, their grid, tooltip,
// legend and screen-reader descriptions) drawn as SVG. Imported dynamically when a chart first
// shows, so the till and the first screen never load it.
import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';

echarts.use([BarChart, LineChart, AriaComponent, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);

export const init = echarts.init;
export type EChartsType = ReturnType<typeof echarts.init>;
