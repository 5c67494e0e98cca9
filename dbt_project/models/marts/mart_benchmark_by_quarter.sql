{#- Each council's quarter beside its region's and England's (of the councils in the warehouse):
    a row per council, quarter and measure (macros/benchmarks.sql). -#}
{% call benchmark_comparison('quarter', ['fiscal_year', 'fiscal_quarter']) %}
    compared.fiscal_year,
    compared.fiscal_quarter,
    compared.quarter_label,
{% endcall %}
