{#- Each council's financial year to date beside its region's and England's (of the councils in
    the warehouse): a row per council, financial year and measure (macros/benchmarks.sql). -#}
{% call benchmark_comparison('year_to_date', ['fiscal_year']) %}
    compared.fiscal_year,
    compared.fiscal_quarter as latest_fiscal_quarter,
{% endcall %}
